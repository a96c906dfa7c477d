// The command line as an operator sees it: tables with a header for list actions, sections
// for info actions, --output json|yaml, colour only on a terminal and never with NO_COLOR,
// errors on stderr with what to do next. The expected values come from the domains this
// test defines with virsh itself (names cli-package-*), never from the agent.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { AGENT, cli, stdioRpc } from '../helpers/agent.js';
import { CMDLINE, INITRD, KERNEL, requireGuestAssets, waitFor } from '../vm/helpers.js';

const URI = 'qemu:///system';
const PREFIX = `cli-package-${randomBytes(3).toString('hex')}`;
const work = mkdtempSync(join(tmpdir(), 'cli-package-'));
const defined: string[] = [];

async function virsh(args: readonly string[]): Promise<string> {
  const ran = await execa('virsh', ['-c', URI, ...args], { env: { LC_ALL: 'C' }, reject: false });
  if (ran.exitCode !== 0) throw new Error(`virsh ${args.join(' ')}: ${String(ran.stderr)}`);
  return String(ran.stdout);
}

/** A shut-off, disk-less domain with one NIC on `default` (never started). */
async function defineDomain(name: string, type: 'qemu' | 'kvm', vcpus: number, memoryMib: number, mac: string): Promise<void> {
  const file = join(work, `${name}.xml`);
  writeFileSync(
    file,
    `<domain type='${type}'><name>${name}</name><memory unit='MiB'>${memoryMib}</memory><vcpu>${vcpus}</vcpu>
      <os><type arch='x86_64' machine='q35'>hvm</type></os>
      <devices><interface type='network'><mac address='${mac}'/><source network='default'/><model type='virtio'/></interface></devices></domain>`,
  );
  defined.push(name);
  await virsh(['define', file]);
}

/** A table's rows split into cells on runs of two or more blanks (no cell here holds two blanks). */
function rowsOf(stdout: string): string[][] {
  return stdout.trimEnd().split('\n').map((line) => line.split(/ {2,}/));
}

const first = `${PREFIX}-a`;
const second = `${PREFIX}-b`;
const macA = '52:54:00:c1:10:0a';
const macB = '52:54:00:c1:10:0b';

beforeAll(async () => {
  await defineDomain(first, 'qemu', 2, 96, macA);
  await defineDomain(second, 'kvm', 3, 160, macB);
});

afterAll(async () => {
  for (const name of defined) {
    await execa('virsh', ['-c', URI, 'destroy', name], { reject: false });
    await execa('virsh', ['-c', URI, 'undefine', name], { reject: false });
    rmSync(`/var/log/hvagent/console/${name}.log`, { force: true });
  }
  rmSync(work, { recursive: true, force: true });
});

describe('list actions print aligned tables', () => {
  test('vm list: a header, then one row per VM with its state, vCPUs and memory', async () => {
    const ran = await cli(['vm', 'list', 'state=shutoff']);
    expect(ran.exitCode).toBe(0);
    const lines = ran.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +STATE +VCPUS +MEM\(MiB\)$/);
    const rows = rowsOf(ran.stdout);
    expect(rows.find((row) => row[0] === first)).toEqual([first, 'shutoff', '2', '96']);
    expect(rows.find((row) => row[0] === second)).toEqual([second, 'shutoff', '3', '160']);
    // Aligned: every row ends where the header ends (numbers are right-aligned under MEM(MiB)),
    // and each state starts under STATE.
    const stateColumn = lines[0]!.indexOf('STATE');
    for (const line of lines.filter((each) => each.startsWith(PREFIX))) {
      expect(line.length).toBe(lines[0]!.length);
      expect(line.slice(stateColumn, stateColumn + 'shutoff'.length)).toBe('shutoff');
    }
  });

  test('vm list details=true adds each VM\'s class from its definition', async () => {
    const ran = await cli(['vm', 'list', 'state=shutoff', 'details=true']);
    expect(ran.exitCode).toBe(0);
    expect(ran.stdout.split('\n')[0]).toMatch(/^NAME +STATE +CLASS +VCPUS +MEM\(MiB\)( +IPV4)?$/);
    const rows = rowsOf(ran.stdout);
    expect(rows.find((row) => row[0] === first)?.slice(0, 5)).toEqual([first, 'shutoff', 'qemu', '2', '96']);
    expect(rows.find((row) => row[0] === second)?.slice(0, 5)).toEqual([second, 'shutoff', 'kvm', '3', '160']);
  });

  test('vm list details=true shows a running guest\'s address, as its network leased it', async () => {
    requireGuestAssets();
    const guest = `${PREFIX}-g`;
    defined.push(guest);
    const created = await stdioRpc({
      agent: 'vm',
      action: 'create',
      data: { name: guest, vm_class: 'qemu', kernel: KERNEL, initrd: INITRD, cmdline: CMDLINE, memory_mb: 192, network: 'default', start: true },
    });
    expect(created).toMatchObject({ statuscode: 0 });
    const mac = /address="([^"]+)"/.exec(await virsh(['dumpxml', '--xpath', '/domain/devices/interface/mac/@address', guest]))![1]!;
    const leased = await waitFor(
      async () => new RegExp(`${mac}\\s+ipv4\\s+([0-9.]+)/`).exec(await virsh(['net-dhcp-leases', 'default']))?.[1],
      `a lease for ${mac} on default`,
      180_000,
    );
    const ran = await cli(['vm', 'list', 'state=running', 'details=true']);
    expect(ran.stdout.split('\n')[0]).toMatch(/^NAME +STATE +CLASS +VCPUS +MEM\(MiB\) +IPV4$/);
    expect(rowsOf(ran.stdout).find((row) => row[0] === guest)).toEqual([guest, 'running', 'qemu', '1', '192', leased]);
  });

  test('an empty list prints the header alone', async () => {
    const ran = await cli(['vm', 'snapshot_list', `name=${first}`]);
    expect(ran.exitCode).toBe(0);
    expect(ran.stdout).toMatch(/^SNAPSHOT +CREATED +STATE +CURRENT +DESCRIPTION$/);
  });

  test('network nic_list: the NIC as a table row', async () => {
    const ran = await cli(['network', 'nic_list', `name=${first}`]);
    expect(ran.exitCode).toBe(0);
    const [header, row] = rowsOf(ran.stdout);
    expect(header!.slice(0, 3)).toEqual(['MAC', 'TYPE', 'NETWORK']);
    expect(row!.slice(0, 3)).toEqual([macA, 'network', 'default']);
  });
});

describe('info actions print sections', () => {
  test('vm info: aligned "Label: value" lines, then each list of entries as a table under its heading', async () => {
    const ran = await cli(['vm', 'info', `name=${second}`]);
    expect(ran.exitCode).toBe(0);
    expect(ran.stdout).toMatch(new RegExp(`^Name: +${second}$`, 'm'));
    expect(ran.stdout).toMatch(/^Class: +kvm$/m);
    expect(ran.stdout).toMatch(/^vCPUs: +3$/m);
    // Every value of the first block starts in the same column.
    const valueColumns = ran.stdout.split('\n\n')[0]!.split('\n').map((line) => /^[^:]+: +/.exec(line)?.[0].length);
    expect(new Set(valueColumns)).toEqual(new Set([ran.stdout.indexOf(second)]));
    const nics = ran.stdout.split('\n\n').find((block) => block.startsWith('NICs:'));
    expect(nics).toBeDefined();
    const [, header, row] = nics!.trimEnd().split('\n');
    expect(header!.trim().split(/ {2,}/)[0]).toBe('MAC');
    expect(row!.trim().split(/ {2,}/)[0]).toBe(macB);
  });
});

describe('--output', () => {
  test('json (and --json) and yaml carry the same reply', async () => {
    const [json, legacy, yaml] = await Promise.all([
      cli(['vm', 'info', `name=${first}`, '--output', 'json']),
      cli(['vm', 'info', `name=${first}`, '--json']),
      cli(['vm', 'info', `name=${first}`, '-o', 'yaml']),
    ]);
    const reply = JSON.parse(json.stdout);
    expect(reply).toMatchObject({ statuscode: 0, data: { name: first, vcpus: 2, memory_mb: 96 } });
    expect(JSON.parse(legacy.stdout)).toEqual(reply);
    expect(parse(yaml.stdout)).toEqual(reply);
  });

  test('an unknown format is a usage error', async () => {
    const ran = await cli(['vm', 'list', '--output=xml']);
    expect(ran.exitCode).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toContain("--output takes table, json, yaml, not 'xml'");
  });
});

describe('colour', () => {
  /** Runs the agent on a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
  async function onTerminal(args: string[], env: Record<string, string> = {}): Promise<string> {
    const command = [AGENT, ...args].map((word) => `'${word}'`).join(' ');
    const ran = await execa('script', ['-qefc', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm', ...env }, extendEnv: false, reject: false });
    return String(ran.stdout);
  }

  test('on a terminal the header is bold; with NO_COLOR, and through a pipe, there is no escape sequence', async () => {
    const args = ['vm', 'list', 'state=shutoff'];
    expect(await onTerminal(args)).toContain('\x1b[1mNAME');
    expect(await onTerminal(args, { NO_COLOR: '1' })).not.toContain('\x1b[');
    expect((await cli(args)).stdout).not.toContain('\x1b[');
  });
});

describe('errors', () => {
  test('a VM that does not exist: exit 1, nothing on stdout, the reason and the next step on stderr', async () => {
    const ran = await cli(['vm', 'info', `name=${PREFIX}-none`]);
    expect(ran.exitCode).toBe(1);
    expect(ran.stdout).toBe('');
    expect(ran.stderr.split('\n')).toEqual([`hvagent: vm info failed [NOT_FOUND]: No VM named '${PREFIX}-none' on this host`, 'Run "hvagent vm list" to see what this host has.']);
  });

  test('a value that is not key=value: exit 4 and where to read about the inputs', async () => {
    const ran = await cli(['vm', 'info', first]);
    expect(ran.exitCode).toBe(4);
    expect(ran.stderr).toContain(`expected key=value, got '${first}'`);
    expect(ran.stderr).toContain('Run "hvagent vm info --help" for its inputs.');
  });
});
