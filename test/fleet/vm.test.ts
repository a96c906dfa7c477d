import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { startHvagentFleet, type Fleet, type McoResult } from './fleet.js';

// The vm agent through a real MCollective 2.12 fleet (ActiveMQ + stock mcollectived hv1 and
// hv2), with the plugin tree written by `hvagent install mcollective`.
//
// Both identities run on this one machine and share its libvirtd (and hvagent's lock
// directory), so a request sent to both acts twice on the *same* VM: that is how this file
// shows the per-VM lock serialising two hosts' requests and every power verb being
// idempotent. Other tests may define VMs on the same libvirtd meanwhile, so nothing here
// assumes it sees only its own VM.

const URI = 'qemu:///system';
const ASSETS = '/var/lib/hvagent/test-assets';
const CONSOLE_LOG_DIR = '/var/log/hvagent/console';
const BOOT_TIMEOUT_MS = 180_000; // a TCG guest on a busy 2-vCPU machine
const STATE_TIMEOUT_MS = 30_000;

const suffix = `${process.pid}-${Date.now().toString(36)}`;
const VM = `fleet-vm-${suffix}`;
/** Names of create requests that must be refused; cleaned up too in case one was not. */
const REFUSED = [`fleet-dotdot-${suffix}`, `fleet-outside-${suffix}`];

let fleet: Fleet;

async function virsh(args: string[]) {
  return execa('virsh', ['-c', URI, ...args], { reject: false, stdin: 'ignore' });
}

async function domstate(name: string): Promise<string> {
  const result = await virsh(['domstate', name]);
  return result.exitCode === 0 ? result.stdout.trim() : `absent (${result.stderr.trim()})`;
}

function consoleLog(name: string): string {
  const path = join(CONSOLE_LOG_DIR, `${name}.log`);
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Polls `probe` until `done` holds for its value; fails with the last value after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`Gave up after ${timeoutMs / 1000} s waiting for ${what}; last seen: ${String(value).slice(-500)}`);
    await delay(250);
  }
}

function rpc(action: string, inputs: string[], target: string[]) {
  return fleet.mco(['rpc', 'vm', action, ...inputs, ...target, '--json']);
}

const bothHosts = () => ['--nodes', fleet.nodesFile];

/**
 * Both hosts acted on the same VM: each answered OK and reports `state`, and exactly one of
 * them changed anything (the per-VM lock serialised them; the verb is idempotent).
 */
function expectOneOfTwoChanged(result: McoResult, state: string): void {
  expect(result.exitCode).toBe(0);
  expect(result.json?.map((reply) => [reply.sender, reply.statuscode, reply.statusmsg, reply.data.state])).toEqual([
    ['hv1', 0, 'OK', state],
    ['hv2', 0, 'OK', state],
  ]);
  expect(result.json?.map((reply) => reply.data.changed).sort()).toEqual([false, true]);
}

beforeAll(async () => {
  // hv1 and hv2 are one machine here: a request sent to both carries one request id, which
  // hvagent would take for a retry (and replay) if both kept their replies in one place, as
  // a host does. hv2 keeps its own, as a second host would; locks stay shared.
  const own = mkdtempSync(join(tmpdir(), 'hv-fleet-vm-'));
  writeFileSync(join(own, 'hvagent.yaml'), `paths:\n  jobs_dir: ${join(own, 'jobs')}\n`);
  fleet = await startHvagentFleet({ nodeEnv: { hv2: { HVAGENT_CONFIG: join(own, 'hvagent.yaml') } } });
});

afterAll(async () => {
  // Whatever happened above: no VM and no console log of ours may outlive the run.
  for (const name of [VM, ...REFUSED]) {
    await virsh(['destroy', name]);
    await virsh(['undefine', name, '--managed-save', '--snapshots-metadata']);
    rmSync(join(CONSOLE_LOG_DIR, `${name}.log`), { force: true });
  }
  await fleet?.stop();
});

describe('vm agent through the MCollective fleet', () => {
  test('mco rpc vm create defines a TCG guest on the one host it is sent to', async () => {
    // mco types key=value by the DDL (docs/reference/protocols.md §2.10): memory_mb=192 travels as the
    // Integer 192, which the server-side DDL check requires; "192" would be refused there.
    const result = await rpc(
      'create',
      [`name=${VM}`, 'vm_class=qemu', 'memory_mb=192', `kernel=${ASSETS}/vmlinuz`, `initrd=${ASSETS}/initrd.img`, 'cmdline=console=ttyS0 panic=-1'],
      ['-I', 'hv1'],
    );
    expect(result.exitCode).toBe(0);
    expect(result.json).toEqual([
      expect.objectContaining({ sender: 'hv1', statuscode: 0, data: { name: VM, changed: true, state: 'shutoff', vm_class: 'qemu', template: null, volumes: [], nics: [], ssh_host_keys: [], known_hosts: null, job_id: null } }),
    ]);
    expect(await domstate(VM)).toBe('shut off');
  });

  test('mco rpc vm list: both identities list the VM, and the text output totals the counts', async () => {
    const result = await rpc('list', [], bothHosts());
    expect(result.exitCode).toBe(0);
    expect(result.json?.map((reply) => [reply.sender, reply.statuscode])).toEqual([
      ['hv1', 0],
      ['hv2', 0],
    ]);
    for (const reply of result.json ?? []) {
      const vms = reply.data.vms as Array<Record<string, unknown>>;
      expect(reply.data.count).toBe(vms.length);
      expect(vms).toContainEqual({ name: VM, driver: 'qemu', state: 'shutoff', vm_class: null, vcpus: 1, memory_mb: 192 });
    }

    const text = await fleet.mco(['rpc', 'vm', 'list', ...bothHosts()]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain('Summary of Count:');
    // The total adds up what this very output printed for each identity.
    const counts = [...text.stdout.matchAll(/^ +Count: (\d+)$/gm)].map((match) => Number(match[1]));
    expect(counts).toHaveLength(2);
    expect(text.stdout).toMatch(new RegExp(`^Summary of Count:\\n\\n {3}Total: ${counts[0]! + counts[1]!}$`, 'm'));
    expect(text.stdout).toContain(`"name"=>"${VM}"`);
  });

  test('vm start sent to both hosts at once: one starts the guest, the other finds it running; it boots', async () => {
    expectOneOfTwoChanged(await rpc('start', [`name=${VM}`], bothHosts()), 'running');

    await waitFor(`${VM}'s serial console to say GUEST: READY`, () => consoleLog(VM), (log) => log.includes('GUEST: READY'), BOOT_TIMEOUT_MS);
    expect(await domstate(VM)).toBe('running');
  });

  test('vm shutdown sent to both hosts at once: one shuts the guest down, the other finds it off', async () => {
    const result = await rpc('shutdown', [`name=${VM}`, 'timeout=60'], bothHosts());
    expectOneOfTwoChanged(result, 'shutoff');
    expect(result.json?.map((reply) => reply.data.forced)).toEqual([false, false]);
    // The guest powered itself off on the ACPI request; nothing pulled the plug.
    expect(consoleLog(VM)).toContain('reboot: Power down');
    await waitFor(`${VM} to be shut off`, () => domstate(VM), (state) => state === 'shut off', STATE_TIMEOUT_MS);
  });

  test('a name the DDL regex refuses is stopped by the mco client before anything is sent', async () => {
    const result = await fleet.mco(['rpc', 'vm', 'start', 'name=../etc', ...bothHosts(), '--json']);
    expect(result.exitCode).toBe(1);
    expect(result.json).toBeUndefined();
    expect(result.stderr).toContain('Cannot validate input name: value should match \\A[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\\z');
  });

  test('a path the client accepts but hvagent refuses shows the server statuscode and message', async () => {
    // `..` segments match the DDL's path regex, so only hvagent can refuse them: statuscode 4.
    const [dotdot, outside] = REFUSED as [string, string];
    const traversal = await rpc('create', [`name=${dotdot}`, 'vm_class=qemu', `kernel=${ASSETS}/../../../../etc/passwd`], bothHosts());
    expect(traversal.exitCode).toBe(2);
    const message = "Input 'kernel' must be an absolute path without . or .. segments";
    expect(traversal.json?.map((reply) => [reply.sender, reply.statuscode, reply.statusmsg, reply.data.error_code])).toEqual([
      ['hv1', 4, message, 'INPUT_INVALID'],
      ['hv2', 4, message, 'INPUT_INVALID'],
    ]);

    const text = await fleet.mco(['rpc', 'vm', 'create', `name=${dotdot}`, 'vm_class=qemu', `kernel=${ASSETS}/../../../../etc/passwd`, '-I', 'hv1']);
    expect(text.exitCode).toBe(2);
    expect(text.stdout).toMatch(new RegExp(`hv1\\s+Invalid Request Data\\n\\s+${message.replace(/\./g, '\\.')}`));

    // A real file outside the image directories: refused as not authorised, statuscode 1.
    const escape = await rpc('create', [`name=${outside}`, 'vm_class=qemu', 'kernel=/etc/passwd'], ['-I', 'hv1']);
    expect(escape.json?.map((reply) => [reply.sender, reply.statuscode, reply.statusmsg, reply.data.error_code])).toEqual([
      [
        'hv1',
        1,
        "Input 'kernel': /etc/passwd is outside the allowed image directories (/var/lib/hvagent, /var/lib/libvirt/images)",
        'NOT_AUTHORIZED',
      ],
    ]);

    for (const name of REFUSED) expect(await domstate(name)).toMatch(/^absent/);
  });
});
