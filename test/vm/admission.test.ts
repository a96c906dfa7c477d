import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stdioRpc, type Reply } from '../helpers/agent.js';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../helpers/private-libvirtd.js';
import { CMDLINE, CONSOLE_DIR, INITRD, KERNEL, requireGuestAssets } from './helpers.js';

// Admission control against real QEMU domains, on a libvirtd of this test's own: the VMs
// it counts are this test's alone, whatever other suites do on qemu:///system meanwhile.
// 20 creates at once race for room for fewer VMs; exactly that many pass, the rest are
// refused with ADMISSION_DENIED naming the limit and the numbers, and nothing of theirs
// is left (not even the volume each one made before it was refused).

const PREFIX = `fleet-tools-adm-${process.pid}`;
const VM_MB = 128;
let libvirtd: PrivateLibvirtd;
let root: string;
let counter = 0;

/** The memory the kernel manages (MiB), read here rather than through the agent. */
function hostMemoryMb(): number {
  const kib = /^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  return Math.floor(Number(kib) / 1024);
}

function configWith(admission: Record<string, number> | null): Record<string, string> {
  const file = join(root, `hvagent-${(counter += 1)}.yaml`);
  const lines = [
    'libvirt:',
    `  uri: ${libvirtd.qemuUri}`,
    `  lxc_uri: ${libvirtd.lxcUri}`,
    'paths:',
    `  images: [${join(KERNEL, '..')}, ${root}]`,
    `  lock_dir: ${join(root, `locks-${counter}`)}`,
    'storage:',
    '  pools:',
    `    vms: { plugin: qcow2, path: ${join(root, 'vms')} }`,
  ];
  if (admission) lines.push('admission:', ...Object.entries(admission).map(([key, value]) => `  ${key}: ${value}`));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { HVAGENT_CONFIG: file };
}

const rpc = (env: Record<string, string>, action: string, data: Record<string, unknown>): Promise<Reply> => stdioRpc({ agent: 'vm', action, data }, env);
const guest = (name: string, extra: Record<string, unknown> = {}) => ({ name, vm_class: 'qemu', kernel: KERNEL, initrd: INITRD, cmdline: CMDLINE, memory_mb: VM_MB, ...extra });
const names = (count: number, what: string) => Array.from({ length: count }, (_, i) => `${PREFIX}-${what}${i}`);

async function defined(): Promise<string[]> {
  const listed = await execa('virsh', ['-c', libvirtd.qemuUri, 'list', '--all', '--name']);
  return listed.stdout.split('\n').map((line) => line.trim()).filter(Boolean).sort();
}

async function running(): Promise<string[]> {
  const listed = await execa('virsh', ['-c', libvirtd.qemuUri, 'list', '--state-running', '--name']);
  return listed.stdout.split('\n').map((line) => line.trim()).filter(Boolean).sort();
}

// Each test starts from an empty libvirtd and pool, whatever the one before left.
afterEach(async () => {
  for (const name of await defined()) {
    await execa('virsh', ['-c', libvirtd.qemuUri, 'destroy', name], { reject: false });
    await execa('virsh', ['-c', libvirtd.qemuUri, 'undefine', name], { reject: false });
  }
  for (const file of readdirSync(join(root, 'vms'))) rmSync(join(root, 'vms', file), { recursive: true, force: true });
});

beforeAll(async () => {
  requireGuestAssets();
  libvirtd = await startPrivateLibvirtd(PREFIX);
  root = join(libvirtd.dir, 'hv');
  mkdirSync(join(root, 'vms'), { recursive: true });
});

afterAll(async () => {
  await libvirtd?.stop();
  for (const file of readdirSync(CONSOLE_DIR).filter((name) => name.startsWith(PREFIX))) rmSync(join(CONSOLE_DIR, file), { force: true });
});

test('20 concurrent creates against max_vms=5: exactly 5 VMs, 15 refusals naming the limit, no volume of theirs left', async () => {
  const env = configWith({ max_vms: 5 });
  const wanted = names(20, 'count');
  // Each create makes a root volume before admission decides for good: a refused one must remove it again.
  const replies = await Promise.all(wanted.map((name) => rpc(env, 'create', guest(name, { pool: 'vms', disk_size_mb: 1 }))));

  const admitted = wanted.filter((_, i) => replies[i]!.statuscode === 0);
  const refused = replies.filter((reply) => reply.statuscode !== 0);
  expect(admitted).toHaveLength(5);
  expect(await defined()).toEqual([...admitted].sort());
  for (const reply of refused) {
    expect(reply.data.error_code).toBe('ADMISSION_DENIED');
    expect(reply.statusmsg).toContain('admission.max_vms is 5');
    expect(reply.statusmsg).toContain('5 VMs defined');
    expect(reply.data.error_details).toEqual({ limit: 'max_vms', defined: 5, max_vms: 5 });
  }
  expect(readdirSync(join(root, 'vms')).sort()).toEqual(admitted.map((name) => `${name}-root`).sort());
});

test('20 concurrent creates with start=true against room for 2 running VMs: 2 run, 18 are refused on memory', async () => {
  // Room for two guests and a half: (memory − reserved) × 1 = 2.5 × VM_MB.
  const reserved = hostMemoryMb() - (2 * VM_MB + VM_MB / 2);
  const env = configWith({ reserved_memory_mb: reserved });
  const wanted = names(20, 'mem');
  const replies = await Promise.all(wanted.map((name) => rpc(env, 'create', guest(name, { start: true }))));

  const admitted = wanted.filter((_, i) => replies[i]!.statuscode === 0);
  expect(admitted).toHaveLength(2);
  expect(await running()).toEqual([...admitted].sort());
  expect(await defined()).toEqual([...admitted].sort());
  for (const reply of replies.filter((each) => each.statuscode !== 0)) {
    expect(reply.data.error_code).toBe('ADMISSION_DENIED');
    expect(reply.statusmsg).toContain(`needs ${VM_MB} MiB and running VMs already hold ${2 * VM_MB} MiB`);
    expect(reply.data.error_details).toEqual({ limit: 'memory', requested_mb: VM_MB, allocated_mb: 2 * VM_MB, limit_mb: 2.5 * VM_MB });
  }

  // A third VM may be defined (it fits on its own) but not started while the two run.
  const [third] = names(1, 'third');
  expect(await rpc(env, 'create', guest(third!))).toMatchObject({ statuscode: 0, data: { state: 'shutoff' } });
  const start = await rpc(env, 'start', { name: third });
  expect(start).toMatchObject({ statuscode: 1, data: { error_code: 'ADMISSION_DENIED', error_details: { limit: 'memory' } } });
  expect(start.statusmsg).toContain(`starting '${third}' needs ${VM_MB} MiB`);
  expect(await running()).toEqual([...admitted].sort());

  // Growing a running VM past the limit is refused and changes nothing; shrinking is always allowed.
  const grow = await rpc(env, 'modify', { name: admitted[0], memory_mb: VM_MB * 2 });
  expect(grow).toMatchObject({ statuscode: 1, data: { error_code: 'ADMISSION_DENIED', error_details: { limit: 'memory' } } });
  const xml = (await execa('virsh', ['-c', libvirtd.qemuUri, 'dumpxml', '--inactive', admitted[0]!])).stdout;
  expect(xml).toContain(`<memory unit='KiB'>${VM_MB * 1024}</memory>`);
  // A shut-off VM may not be given more than the host could ever run.
  const huge = await rpc(env, 'modify', { name: third, memory_mb: 3 * VM_MB });
  expect(huge).toMatchObject({ statuscode: 1, data: { error_code: 'ADMISSION_DENIED' } });
  expect(huge.statusmsg).toContain('could never start here');
  expect(await rpc(env, 'modify', { name: third, memory_mb: VM_MB / 2 })).toMatchObject({ statuscode: 0, data: { changed: true } });

  // Once a running VM stops, its room is free again.
  expect(await rpc(env, 'poweroff', { name: admitted[1] })).toMatchObject({ statuscode: 0, data: { state: 'shutoff' } });
  expect(await rpc(env, 'start', { name: third })).toMatchObject({ statuscode: 0, data: { changed: true, state: 'running' } });
});

test('vCPUs: a VM that would pass CPUs × vcpu_ratio is refused at create and at modify', async () => {
  const cpus = Number((await execa('nproc', ['--all'])).stdout.trim());
  const env = configWith({ vcpu_ratio: 1 });
  const [name] = names(1, 'cpu');
  const tooMany = await rpc(env, 'create', guest(name!, { vcpus: cpus + 1 }));
  expect(tooMany).toMatchObject({ statuscode: 1, data: { error_code: 'ADMISSION_DENIED', error_details: { limit: 'vcpus', requested_vcpus: cpus + 1, limit_vcpus: cpus } } });
  expect(await defined()).toEqual([]);
  expect(await rpc(env, 'create', guest(name!, { vcpus: 1 }))).toMatchObject({ statuscode: 0 });
  const grow = await rpc(env, 'modify', { name, vcpus: cpus + 1 });
  expect(grow).toMatchObject({ statuscode: 1, data: { error_code: 'ADMISSION_DENIED', error_details: { limit: 'vcpus' } } });
  expect(await rpc(env, 'modify', { name, vcpus: cpus })).toMatchObject({ statuscode: 0, data: { changed: true } });
});

test('without limits nothing is refused and the host lock is never taken', async () => {
  const env = configWith(null);
  const wanted = names(6, 'free');
  const replies = await Promise.all(wanted.map((name) => rpc(env, 'create', guest(name, { memory_mb: 1048576 }))));
  expect(replies.map((reply) => reply.statuscode)).toEqual(wanted.map(() => 0));
  expect(readdirSync(join(root, `locks-${counter}`)).filter((file) => file.startsWith('host-'))).toEqual([]);
});
