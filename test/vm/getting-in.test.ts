// Getting into a VM without cloud-init's help: vm info tells each NIC's IPv4 address and
// where it was learnt (here the DHCP lease: the test guest runs no qemu-guest-agent; the
// agent's path is proven on the Debian image in test/cloudinit/provision.test.ts);
// vm console_log returns the end of the serial log; vm console attaches a real terminal
// (a pty from script(1)) and is refused wherever there is none.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { AGENT, agentEnv, cli } from '../helpers/agent.js';
import { cleanupNetworks, createNetwork, leases, type TestNetwork } from '../network/helpers.js';
import {
  cleanup, containerRootfs, createGuest, newVmName, READY, serialLogPath, vm, waitFor, waitForSerial, waitForState,
} from './helpers.js';

const JOBS_DIR = '/run/hvagent/jobs';
const name = newVmName();
let nat: TestNetwork;

beforeAll(async () => {
  nat = await createNetwork('nat');
  await createGuest(name, { network: nat.name, start: true });
  await waitForSerial(name, READY);
});

afterAll(async () => {
  await cleanup();
  await cleanupNetworks();
});

describe('vm info', () => {
  test("a running guest's NIC: the address of its DHCP lease, said to come from the lease", async () => {
    const info = await vm('info', { name });
    const [nic] = info.data.nics as Array<{ mac: string }>;
    const ip = await waitFor(async () => (await leases(nat.name)).get(nic!.mac), `a lease for ${nic!.mac}`, 180_000);
    await waitForSerial(name, `GUEST: dhcp ok ${ip}/24`);
    expect((await vm('info', { name })).data.nics).toEqual([
      expect.objectContaining({ mac: nic!.mac, network: nat.name, ipv4_addresses: [{ address: ip, prefix: 24, source: 'dhcp_lease' }] }),
    ]);
  });
});

describe('vm console_log', () => {
  test('the last lines the guest printed, with the file they come from', async () => {
    const reply = await vm('console_log', { name, lines: 3 });
    expect(reply).toMatchObject({ statuscode: 0, data: { name, line_count: 3, earlier: true, console_log: serialLogPath(name) } });
    // What the file itself ends with (it may have grown since: the reply's lines are in it, in order).
    const file = readFileSync(serialLogPath(name), 'utf8').replace(/\r/g, '').split('\n').filter((line, i, all) => i < all.length - 1 || line !== '');
    const lines = String(reply.data.log).split('\n');
    expect(lines).toHaveLength(3);
    const at = file.indexOf(lines[0]!);
    expect(at).toBeGreaterThan(-1);
    expect(file.slice(at, at + 3)).toEqual(lines);
  });

  test('by default the last 100 lines; a container has no serial log; an unknown VM is NOT_FOUND', async () => {
    const all = (await vm('console_log', { name })).data;
    expect(Number(all.line_count)).toBeLessThanOrEqual(100);
    expect(String(all.log)).toContain(READY);

    const container = newVmName();
    expect((await vm('create', { name: container, vm_class: 'lxc', rootfs: await containerRootfs(), memory_mb: 64 })).statuscode).toBe(0);
    expect(await vm('console_log', { name: container })).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    expect(await vm('console_log', { name: newVmName() })).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
    expect(await vm('console_log', { name, lines: 0 })).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
  });
});

describe('vm console', () => {
  test('over stdio (as over MCollective and Choria) it is refused, pointing to console_log', async () => {
    const refused = await vm('console', { name });
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    expect(refused.statusmsg).toMatch(/cannot run over stdio: run `hvagent vm console name=t-[0-9a-f]+` on the host, or read the serial log with vm console_log/);
  });

  test('on the command line without a terminal it is refused', async () => {
    const ran = await cli(['vm', 'console', `name=${name}`]);
    expect(ran.exitCode).toBe(1);
    expect(ran.stderr).toContain('vm console needs a terminal');
  });

  test('on a terminal it attaches to the serial console, outlives the agent deadline, and Ctrl-] detaches', async () => {
    // script(1) gives the agent a pty as stdin and stdout; the VM name is ours (t-<hex>).
    const session = execa('script', ['-q', '-e', '-c', `${AGENT} vm console name=${name}`, '/dev/null'], {
      env: agentEnv({ HVAGENT_DEADLINE_MS: '1000', TERM: 'dumb' }),
      extendEnv: false,
      reject: false,
      timeout: 120_000,
    });
    let output = '';
    session.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('Escape character is ^]'), 'virsh console to connect');
    // A console session is a long action: its job record appears after 5 s, by when a
    // 1 s deadline would long have ended it.
    const record = await waitFor(() => consoleJob(name), 'the console job record', 30_000);
    expect(record.state).toBe('running');
    session.stdin!.write('\u001d'); // Ctrl-]
    const ended = await session;
    expect(ended.exitCode).toBe(0);
    expect(output).toMatch(/Attached \(ms\):\s+\d+/);
  });

  test('a VM that is not running cannot be attached to', async () => {
    expect((await vm('poweroff', { name })).statuscode).toBe(0);
    await waitForState(name, 'shut off');
    const ran = await execa('script', ['-q', '-e', '-c', `${AGENT} vm console name=${name}`, '/dev/null'], { env: agentEnv(), extendEnv: false, reject: false, stdin: 'ignore', timeout: 60_000 });
    expect(String(ran.stdout)).toMatch(/vm console failed \[CONFLICT\]: 't-[0-9a-f]+' is shutoff: start it first/);
    expect((await vm('info', { name })).data.nics).toEqual([expect.objectContaining({ ipv4_addresses: [] })]);
  });
});

/** The job record of a running `vm console` of `vm`, if one was written. */
function consoleJob(vmName: string): { state: string } | undefined {
  for (const file of readdirSync(JOBS_DIR)) {
    try {
      const record = JSON.parse(readFileSync(join(JOBS_DIR, file), 'utf8')) as { action: string; target: string; state: string };
      if (record.action === 'console' && record.target === vmName && record.state === 'running') return record;
    } catch {
      // being replaced right now
    }
  }
  return undefined;
}
