// Many agent processes at once. Mutating requests on one VM take turns (a flock(2) per
// VM), requests on different VMs do not wait for each other, and a request killed with
// SIGKILL leaves no lock behind.
import { execa } from 'execa';
import { AGENT, agentEnv, type Reply } from '../helpers/agent.js';
import {
  cleanup,
  CMDLINE_NO_ACPI,
  createGuest,
  domstate,
  guestSpec,
  lockHeld,
  newVmName,
  QEMU_URI,
  READY,
  replyOf,
  requireGuestAssets,
  serialLog,
  spawnVm,
  virsh,
  vm,
  waitFor,
  waitForSerial,
  waitForState,
  xmlKib,
} from './helpers.js';

beforeAll(requireGuestAssets);
afterAll(cleanup);

/** Every reply of a batch of requests, each in its own agent process, all started together. */
async function together(requests: Array<[string, Record<string, unknown>]>): Promise<Reply[]> {
  const ran = await Promise.all(requests.map(([action, data]) => spawnVm(action, data)));
  return ran.map((result) => {
    expect(result.exitCode).toBe(0);
    return replyOf(result);
  });
}

// A: a guest that ignores the ACPI power button, so a graceful shutdown of it holds A's
// lock for the whole shutdown timeout. B: an ordinary guest.
const a = newVmName();
const b = newVmName();

describe('concurrent requests', () => {
  beforeAll(async () => {
    await createGuest(a, { cmdline: CMDLINE_NO_ACPI, memory_mb: 64, max_memory_mb: 512 });
    await createGuest(b, { memory_mb: 128, start: true });
  });

  test('5 creates of one name at once: exactly one defines it, the others are CONFLICT', async () => {
    const name = newVmName();
    const replies = await together(Array.from({ length: 5 }, () => ['create', guestSpec(name)]));
    expect(replies.filter((reply) => reply.statuscode === 0 && reply.data.changed === true)).toHaveLength(1);
    expect(replies.filter((reply) => reply.statuscode === 1 && reply.data.error_code === 'CONFLICT')).toHaveLength(4);
    expect(await domstate(name)).toBe('shut off');
  });

  test('10 NICs attached at once to one stopped VM: each request sees the NICs before it, so all 10 land, each with its own MAC', async () => {
    // Each attach reads the VM's NICs and gives the new one the next slot's MAC. Without the
    // VM's lock two requests see the same NICs and pick the same slot: one then fails, or two
    // NICs share a MAC, or one replaces the other.
    const name = newVmName();
    await createGuest(name, { memory_mb: 64 });
    const ran = await Promise.all(
      Array.from({ length: 10 }, () =>
        execa(AGENT, ['rpc'], { input: JSON.stringify({ agent: 'network', action: 'nic_attach', data: { name, network: 'default' } }), env: agentEnv(), extendEnv: false, reject: false }),
      ),
    );
    const replies = ran.map(replyOf);
    expect(replies.map((reply) => [reply.statuscode, reply.data.error_code ?? null])).toEqual(replies.map(() => [0, null]));
    const macs = replies.map((reply) => String(reply.data.mac));
    expect(new Set(macs).size).toBe(10);
    const defined = [...(await virsh(QEMU_URI, ['dumpxml', '--inactive', name])).matchAll(/<mac address='([0-9a-f:]+)'/g)].map((match) => match[1]);
    expect(defined.sort()).toEqual([...macs].sort());
  });

  test('20 modify requests with distinct memory sizes on one stopped VM: each applied whole, the definition and the agent agree', async () => {
    const sizes = Array.from({ length: 20 }, (_, i) => 100 + 10 * i);
    const replies = await together(sizes.map((memory_mb) => ['modify', { name: a, memory_mb }]));

    expect(replies.map((reply) => [reply.statuscode, reply.data.error_code])).toEqual(sizes.map(() => [0, undefined]));
    expect(replies.every((reply) => (reply.data.applied as Record<string, string>).memory_mb === 'next_boot')).toBe(true);

    const defined = xmlKib(await virsh(QEMU_URI, ['dumpxml', '--inactive', a]), 'currentMemory') / 1024;
    expect(sizes).toContain(defined);
    expect((await vm('info', { name: a })).data).toMatchObject({ memory_mb: defined, max_memory_mb: 512 });
  });

  test('10 suspend and 10 resume requests interleaved on one running VM: every reply true to the state it saw', async () => {
    const requests = Array.from({ length: 20 }, (_, i): [string, Record<string, unknown>] => [i % 2 ? 'resume' : 'suspend', { name: b }]);
    const replies = await together(requests);

    expect(replies.map((reply) => reply.statuscode)).toEqual(requests.map(() => 0));
    // Taken one at a time, real changes alternate suspend, resume, suspend, … from running.
    const changedSuspends = replies.filter((reply, i) => requests[i]![0] === 'suspend' && reply.data.changed === true).length;
    const changedResumes = replies.filter((reply, i) => requests[i]![0] === 'resume' && reply.data.changed === true).length;
    expect(changedSuspends).toBeGreaterThanOrEqual(1);
    expect([0, 1]).toContain(changedSuspends - changedResumes);
    expect(await domstate(b)).toBe(changedSuspends > changedResumes ? 'paused' : 'running');

    if (changedSuspends > changedResumes) expect(await vm('resume', { name: b })).toMatchObject({ statuscode: 0, data: { changed: true } });
  });

  test("while a shutdown holds A's lock, B is suspended at once and A's next request waits its turn", async () => {
    expect(await vm('start', { name: a })).toMatchObject({ statuscode: 0, data: { changed: true } });
    await waitForSerial(a, READY);
    expect(serialLog(a)).toContain('GUEST: acpid not started');

    let shutdownDone = false;
    const shutdown = spawnVm('shutdown', { name: a, timeout: 10, force: true });
    void shutdown.then(() => (shutdownDone = true));
    await waitFor(() => lockHeld(a), "A's shutdown to hold A's lock");

    // A request for A now has to wait for the shutdown …
    const suspendA = spawnVm('suspend', { name: a });
    // … while B's request does not.
    expect(replyOf(await spawnVm('suspend', { name: b }))).toMatchObject({ statuscode: 0, data: { changed: true, state: 'paused' } });
    expect(await domstate(b)).toBe('paused');
    expect(shutdownDone).toBe(false);
    expect(await domstate(a)).toBe('running');

    // The guest ignored the button; force powered it off after the timeout.
    expect(replyOf(await shutdown)).toMatchObject({ statuscode: 0, data: { changed: true, state: 'shutoff', forced: true } });
    // A's suspend ran after the shutdown, and so found A stopped.
    expect(replyOf(await suspendA)).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(await domstate(a)).toBe('shut off');
  });

  test('a request killed with SIGKILL while it holds the lock leaves none behind', async () => {
    expect(await vm('start', { name: a })).toMatchObject({ statuscode: 0, data: { changed: true } });
    await waitForState(a, 'running');

    const shutdown = spawnVm('shutdown', { name: a, timeout: 60 });
    await waitFor(() => lockHeld(a), "the shutdown to hold A's lock");
    shutdown.kill('SIGKILL');
    expect((await shutdown).signal).toBe('SIGKILL');
    expect(await domstate(a)).toBe('running');

    // A stale lock would keep this waiting for the agent's whole deadline (about 100 s).
    const poweroff = await spawnVm('poweroff', { name: a }, 30_000);
    expect(poweroff.timedOut).toBe(false);
    expect(replyOf(poweroff)).toMatchObject({ statuscode: 0, data: { changed: true, state: 'shutoff' } });
    expect(await domstate(a)).toBe('shut off');
  });
});
