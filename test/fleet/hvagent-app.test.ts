import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../helpers/private-libvirtd.js';
import { buildTestTemplates, CATALOGUE } from '../provisioning/helpers.js';
import { CONSOLE_DIR } from '../vm/helpers.js';
import { startHvagentFleet, type Fleet } from './fleet.js';

// `mco hvagent`, the hvagent data plugin and the fleet totals on a real MCollective 2.12
// fleet of three identities that differ as hosts do. hv1 and hv2 each have a libvirtd of
// their own (their VMs are theirs alone) and their own admission limits: hv1 has the most
// free memory but room for one VM (max_vms 1), hv2 less memory kept free for VMs
// (reserved_memory_mb) but no VM limit. hv3's libvirt does not answer: every request
// there fails, as on a broken host.

const PREFIX = `fleet-tools-app-${process.pid}`;
const HV2_RESERVED_MB = 4096;
const HV1_RESERVED_MB = 512;
const VM_MB = 128;
const [A, B, C] = ['a', 'b', 'c'].map((letter) => `${PREFIX}-${letter}`) as [string, string, string];

let fleet: Fleet;
const libvirtds: Record<string, PrivateLibvirtd> = {};
let root: string;

/** MemTotal (MiB), read here rather than through the agent. */
function hostMemoryMb(): number {
  return Math.floor(Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024);
}

function writeConfig(identity: string, lines: string[]): Record<string, string> {
  const file = join(root, `${identity}.yaml`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { HVAGENT_CONFIG: file };
}

function hostConfig(identity: string, admission: string[]): Record<string, string> {
  const { qemuUri, lxcUri } = libvirtds[identity]!;
  const pool = join(root, `pool-${identity}`);
  mkdirSync(pool, { recursive: true });
  return writeConfig(identity, [
    `libvirt: { uri: "${qemuUri}", lxc_uri: "${lxcUri}" }`,
    `paths: { lock_dir: ${join(root, `locks-${identity}`)} }`,
    `storage: { pools: { vms: { plugin: qcow2, path: ${pool} } } }`,
    `templates: { catalogue: ${CATALOGUE} }`,
    'admission:',
    ...admission.map((line) => `  ${line}`),
  ]);
}

const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');
const rows = (stdout: string) => plain(stdout).trimEnd().split('\n').map((line) => line.trim().split(/\s{2,}/));
const virshOn = (identity: string, args: string[]) => execa('virsh', ['-c', libvirtds[identity]!.qemuUri, ...args], { reject: false });
const mcoJson = <T>(stdout: string): T => JSON.parse(stdout) as T;
const BOTH = ['-I', 'hv1', '-I', 'hv2'];

beforeAll(async () => {
  await buildTestTemplates();
  for (const identity of ['hv1', 'hv2']) libvirtds[identity] = await startPrivateLibvirtd(`${PREFIX}-${identity}`);
  root = join(libvirtds.hv1!.dir, 'hv');
  mkdirSync(root, { recursive: true });
  const nodeEnv = {
    hv1: hostConfig('hv1', ['max_vms: 1', `reserved_memory_mb: ${HV1_RESERVED_MB}`]),
    hv2: hostConfig('hv2', [`reserved_memory_mb: ${HV2_RESERVED_MB}`]),
    hv3: writeConfig('hv3', [`libvirt: { uri: "qemu+unix:///system?socket=${root}/absent/libvirt-sock", lxc_uri: "lxc+unix:///system?socket=${root}/absent/libvirt-sock" }`]),
  };
  fleet = await startHvagentFleet({ nodes: ['hv1', 'hv2', 'hv3'], nodeEnv });
});

afterAll(async () => {
  await fleet?.stop();
  for (const libvirtd of Object.values(libvirtds)) await libvirtd.stop();
  for (const file of readdirSync(CONSOLE_DIR).filter((name) => name.startsWith(PREFIX))) rmSync(join(CONSOLE_DIR, file), { force: true });
});

describe('mco hvagent on a fleet of hosts that differ', () => {
  test('capacity: one row per host, most free memory first; the failing host on stderr, exit 2', async () => {
    const result = await fleet.mco(['hvagent', 'capacity', '--nodes', fleet.nodesFile]);
    expect(result.exitCode).toBe(2);
    const memory = hostMemoryMb();
    expect(rows(result.stdout)).toEqual([
      ['HOST', 'FREE MEM(MiB)', 'FREE VCPUS', 'RUNNING', 'VMS', 'MAX VMS', 'POOL FREE(MiB)'],
      ['hv1', String(memory - HV1_RESERVED_MB), expect.stringMatching(/^\d+$/), '0', '0', '1', expect.stringMatching(/^\d+$/)],
      ['hv2', String(memory - HV2_RESERVED_MB), expect.stringMatching(/^\d+$/), '0', '0', '-', expect.stringMatching(/^\d+$/)],
    ]);
    expect(result.stderr).toMatch(/^hv3: .*failed to connect to the hypervisor/m);
  });

  test('the data plugin selects hosts by capacity: -S "hvagent().free_memory_mb > N"', async () => {
    // Between hv2's free memory and hv1's: hv1 alone; hv3 cannot answer and matches nothing.
    const threshold = hostMemoryMb() - HV2_RESERVED_MB + 1;
    const result = await fleet.mco(['rpc', 'vm', 'list', '-S', `hvagent().free_memory_mb > ${threshold}`, '--dt', '1', '--json']);
    expect(result.exitCode).toBe(0);
    expect(result.json?.map((reply) => reply.sender)).toEqual(['hv1']);
    const both = await fleet.mco(['rpc', 'vm', 'list', '-S', 'hvagent().free_memory_mb > 16', '--dt', '1', '--json']);
    expect(both.json?.map((reply) => reply.sender)).toEqual(['hv1', 'hv2']);
  });

  test('two place at once: both pick hv1, which admits one; the other is refused there and lands on hv2', async () => {
    const place = (name: string) => fleet.mco(['hvagent', 'place', `name=${name}`, 'template=image:tiny', `memory_mb=${VM_MB}`, ...BOTH]);
    const [a, b] = await Promise.all([place(A), place(B)]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    const where = (result: { stdout: string }, name: string) => new RegExp(`^${name} placed on (hv[12]) \\(running, qemu, ${VM_MB} MiB, template image:tiny\\)$`, 'm').exec(result.stdout)?.[1];
    expect([where(a, A), where(b, B)].sort()).toEqual(['hv1', 'hv2']);
    // The loser says why it left hv1: hv1's own admission refused it.
    expect(a.stderr + b.stderr).toMatch(/skipped hv1: Admission denied: this host has 1 VM defined and admission\.max_vms is 1/);
    for (const [result, name] of [[a, A], [b, B]] as const) {
      const out = await virshOn(where(result, name)!, ['domstate', name]);
      expect(out.stdout.trim()).toBe('running');
    }
  });

  test('list: one row per VM across the hosts; find: the host, state and class of each match', async () => {
    const listed = await fleet.mco(['hvagent', 'list', ...BOTH]);
    expect(listed.exitCode).toBe(0);
    const table = rows(listed.stdout);
    expect(table[0]).toEqual(['HOST', 'NAME', 'STATE', 'CLASS', 'MEM(MiB)', 'VCPUS', 'IPS']);
    const hostOf = async (name: string) => ((await virshOn('hv1', ['domstate', name])).exitCode === 0 ? 'hv1' : 'hv2');
    expect(table.slice(1)).toEqual([
      [await hostOf(A), A, 'running', 'qemu', String(VM_MB), '1', '-'],
      [await hostOf(B), B, 'running', 'qemu', String(VM_MB), '1', '-'],
    ].sort((x, y) => x[0]!.localeCompare(y[0]!)));

    const found = await fleet.mco(['hvagent', 'find', `${PREFIX}-*`, ...BOTH]);
    expect(found.exitCode).toBe(0);
    expect(rows(found.stdout)).toEqual([['HOST', 'NAME', 'STATE', 'CLASS'], [await hostOf(A), A, 'running', 'qemu'], [await hostOf(B), B, 'running', 'qemu']]);
    const none = await fleet.mco(['hvagent', 'find', `${PREFIX}-zz*`, ...BOTH]);
    expect([none.exitCode, none.stderr.trim()]).toEqual([3, `mco hvagent: no VM matches ${PREFIX}-zz*`]);
    // With the failing host: what answered is printed, and the exit code says it is not all.
    const partial = await fleet.mco(['hvagent', 'list', '--nodes', fleet.nodesFile, '-j']);
    expect(partial.exitCode).toBe(2);
    expect(mcoJson<Array<{ host: string; name: string }>>(partial.stdout).map((row) => row.name).sort()).toEqual([A, B].sort());
  });

  test("the data plugin finds the one host holding a VM: mco rpc vm start name=X -S \"hvagent('X').present=true\"", async () => {
    const holder = (await virshOn('hv1', ['domstate', A])).exitCode === 0 ? 'hv1' : 'hv2';
    await virshOn(holder, ['destroy', A]);
    const started = await fleet.mco(['rpc', 'vm', 'start', `name=${A}`, '-S', `hvagent('${A}').present=true`, '--dt', '1', '--json']);
    expect(started.exitCode).toBe(0);
    expect(started.json?.map((reply) => [reply.sender, reply.statuscode, reply.data.changed])).toEqual([[holder, 0, true]]);
    expect((await virshOn(holder, ['domstate', A])).stdout.trim()).toBe('running');
    // Without the filter every other host fails with NOT_FOUND and mco exits 2; vm locate and mco hvagent info do not.
    const unfiltered = await fleet.mco(['rpc', 'vm', 'info', `name=${A}`, ...BOTH]);
    expect(unfiltered.exitCode).toBe(2);
    const located = await fleet.mco(['rpc', 'vm', 'locate', `name=${A}`, ...BOTH]);
    expect(located.exitCode).toBe(0);
    const present = /^Summary of Present:\n\n((?: +.*\n?)+)/m.exec(plain(located.stdout))?.[1];
    expect(present?.trim().split('\n').map((line) => line.trim()).sort()).toEqual(['false = 1', 'true = 1']);
    const info = await fleet.mco(['hvagent', 'info', A, ...BOTH]);
    expect(info.exitCode).toBe(0);
    expect(plain(info.stdout)).toMatch(new RegExp(`^${A} on ${holder}\\n  State: +running\\n  Class: +qemu\\n`));
    expect(plain(info.stdout)).toMatch(/^Disks:\n  TARGET +DEVICE +FORMAT +SOURCE\n  vda +disk +qcow2 +\/\S+-root$/m);
  });

  test('fleet totals survive a failing host and hosts that lack the VM', async () => {
    // vm list: hv3 fails; the total counts the VMs of hv1 and hv2, not an average of counts.
    const list = plain((await fleet.mco(['rpc', 'vm', 'list', '--nodes', fleet.nodesFile])).stdout);
    expect(list).toMatch(/^hv3 +Request Aborted$/m);
    expect(list).toMatch(/^Summary of Count:\n\n {3}Total: 2\n/m);
    expect(list).not.toContain('Could not compute summary');
    // host usage: seven totals and an average, none lost to hv3's nil outputs.
    const usage = plain((await fleet.mco(['rpc', 'host', 'usage', '--nodes', fleet.nodesFile])).stdout);
    expect(usage).not.toContain('Could not compute summary');
    expect(usage.match(/^ {3}Total: \d+( MiB)?$/gm)).toHaveLength(6);
    expect(usage).toMatch(/^ {3}Average: [\d.]+%$/m);
    // vm statistics of one VM: the hosts without it fail (NOT_FOUND), its own figures are the total.
    const stats = plain((await fleet.mco(['rpc', 'vm', 'statistics', `name=${A}`, '--nodes', fleet.nodesFile])).stdout);
    expect(stats).not.toContain('Could not compute summary');
    expect(stats).toMatch(/^Summary of Memory \(MiB\):\n\n {3}Total: 128 MiB$/m);
  });

  test('place refuses a name already in the fleet (exit 1) and says why no host, the failing one included, can take a VM (exit 3)', async () => {
    const taken = await fleet.mco(['hvagent', 'place', `name=${A}`, 'template=image:tiny', `memory_mb=${VM_MB}`, ...BOTH]);
    expect(taken.exitCode).toBe(1);
    expect(taken.stderr).toMatch(new RegExp(`a VM named ${A} exists already on hv[12]`));
    const huge = await fleet.mco(['hvagent', 'place', `name=${C}`, 'template=image:tiny', `memory_mb=${hostMemoryMb()}`, '--nodes', fleet.nodesFile]);
    expect(huge.exitCode).toBe(3);
    expect(huge.stderr).toMatch(/^ {2}hv3: .*failed to connect to the hypervisor/m);
    expect(huge.stderr).toMatch(/^ {2}hv1: Admission denied: this host has 1 VM defined/m);
    expect(huge.stderr).toMatch(/^ {2}hv2: Admission denied: creating and starting a VM needs \d+ MiB/m);
    expect((await virshOn('hv1', ['domstate', C])).exitCode).not.toBe(0);
    expect((await virshOn('hv2', ['domstate', C])).exitCode).not.toBe(0);
  });

  test('mco plugin doc renders the application, the data plugin, the aggregates and input ranges', async () => {
    const doc = async (target: string) => plain((await fleet.mco(['plugin', 'doc', target])).stdout);
    expect(await doc('application/hvagent')).toMatch(/mco hvagent place name=NAME template=TYPE:NAME memory_mb=MIB[\s\S]*Exit codes:/);
    const data = await doc('hvagent');
    expect(data).toContain(`mco rpc vm start name=web01 -S "hvagent('web01').present=true"`);
    expect(data).toMatch(/QUERY FUNCTION OUTPUT:[\s\S]*free_memory_mb:[\s\S]*present:/);
    expect(await doc('aggregate/hvagent_sum')).toContain('a reply without a number');
    // The listing of every plugin loads each DDL: ours load without errors.
    const listing = plain((await fleet.mco(['plugin', 'doc'])).stdout);
    expect(listing).toMatch(/^Aggregate:\n(?: {2}.*\n)* {2}hvagent_sum +Total of a numeric output/m);
    expect(listing).toMatch(/^Data Queries:\n(?: {2}.*\n)* {2}hvagent +Discovery by hvagent host capacity/m);
    expect(listing).not.toContain('Plugin Load Errors');
    expect(await doc('vm')).toMatch(/memory_mb:\n +Description: Memory in MiB \(16 to 1048576\)/);
  });
});
