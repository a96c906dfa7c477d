// vm migrate between two real libvirtds (host1 = this machine's, host2 = the one in the
// hvagent-host2 network namespace): a TCG guest printing its uptime every 2 s on the
// serial console goes there and back and is seen to keep running; disks are copied;
// refusals change nothing; progress is recorded while it runs; a migration cut short by
// the deadline leaves the guest running here.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { AGENT, agentEnv, cli, stdioRpc, type Reply } from '../helpers/agent.js';
import {
  BOUND_MS,
  cleanup,
  CMDLINE,
  containerRootfs,
  createGuest,
  domstate,
  newVmName,
  QEMU_URI,
  READY,
  requireGuestAssets,
  serialCount,
  serialLog,
  virsh,
  vm,
  waitFor,
  waitForSerial,
} from '../vm/helpers.js';
import { ensureHost2, host1Proxy, HOST2_URI, HOST2_VARLIB, removeFromHost2 } from './host2.js';

const JOBS_DIR = '/run/hvagent/jobs';
const TICK = 'GUEST: tick uptime=';

// Decided before the tests are collected, so that a machine without network namespaces
// skips them, loudly; HVAGENT_REQUIRE_HOST2=1 (CI) makes that a failure instead.
const host2 = await ensureHost2();
if (!host2.ok) {
  if (process.env.HVAGENT_REQUIRE_HOST2 === '1') throw new Error(host2.why);
  console.warn(`SKIPPING migration tests: ${host2.why}`);
}
const describeHost2 = host2.ok ? describe : describe.skip;

const onHost2 = { HVAGENT_URI: HOST2_URI };
const moved = new Set<string>();
let proxy: Awaited<ReturnType<typeof host1Proxy>> | undefined;

beforeAll(async () => {
  requireGuestAssets();
  if (host2.ok) proxy = await host1Proxy();
});

afterAll(async () => {
  await Promise.all([...moved].map(removeFromHost2));
  await cleanup();
  await proxy?.close();
  removeJobRecordsOf(moved);
});

/** The job records of this file's requests (some carry no request id, so: by target). */
function removeJobRecordsOf(names: Set<string>): void {
  const files = existsSync(JOBS_DIR) ? readdirSync(JOBS_DIR).filter((file) => file.endsWith('.json')) : [];
  for (const file of files) {
    const record = jobRecord(file.slice(0, -'.json'.length));
    if (typeof record?.target === 'string' && names.has(record.target)) rmSync(join(JOBS_DIR, file), { force: true });
  }
}

function requestId(): string {
  return `t-mig-${randomBytes(5).toString('hex')}`;
}

function jobRecord(id: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(join(JOBS_DIR, `${id}.json`), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Every uptime the guest printed, in order. */
function uptimes(name: string): number[] {
  return [...serialLog(name).matchAll(/GUEST: tick uptime=([\d.]+)/g)].map((match) => Number(match[1]));
}

/** Waits for a tick printed after this moment, and returns its uptime. */
async function nextTick(name: string): Promise<number> {
  const seen = uptimes(name).length;
  return waitFor(() => (uptimes(name).length > seen ? uptimes(name).at(-1) : undefined), `a new '${TICK}' line from ${name}`);
}

/** The guest never rebooted: one READY, and uptime only ever went up. */
function expectOneUninterruptedRun(name: string): void {
  expect(serialCount(name, READY)).toBe(1);
  const seen = uptimes(name);
  for (let i = 1; i < seen.length; i += 1) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
}

async function tickingGuest(extra: Record<string, unknown> = {}): Promise<string> {
  const name = newVmName();
  moved.add(name);
  await createGuest(name, { cmdline: `${CMDLINE} guest_tick`, start: true, ...extra });
  await waitForSerial(name, TICK);
  return name;
}

function migrate(name: string, destination: string, extra: Record<string, unknown> = {}, env: Record<string, string> = {}, requestid?: string): Promise<Reply> {
  return stdioRpc({ agent: 'vm', action: 'migrate', data: { name, destination, ...extra }, ...(requestid && { requestid }) }, env);
}

describeHost2('vm migrate between two libvirtds', () => {
  let guest: string;

  beforeAll(async () => {
    guest = await tickingGuest();
  });

  test('a running guest goes to host2 and back, keeping its run and its hvagent metadata', async () => {
    const before = (await vm('info', { name: guest })).data.metadata;
    const uptimeBefore = await nextTick(guest);

    const there = await migrate(guest, HOST2_URI);
    expect(there).toMatchObject({
      statuscode: 0,
      data: { name: guest, changed: true, state: 'running', vm_class: 'qemu', destination: HOST2_URI, destination_host: 'hvagent-host2' },
    });
    expect(there.data.duration_ms).toBeGreaterThan(0);
    expect(there.data.bytes_transferred).toBeGreaterThan(1024 * 1024);
    expect(await domstate(guest)).toBe('absent');
    expect(await domstate(guest, HOST2_URI)).toBe('running');
    expect(await virsh(HOST2_URI, ['dumpxml', '--inactive', guest])).toContain('xmlns:hv="https://hvagent.dev/xmlns/domain/1"');
    const info = await stdioRpc({ agent: 'vm', action: 'info', data: { name: guest } }, onHost2);
    expect(info).toMatchObject({ statuscode: 0, data: { state: 'running', metadata: before } });
    expect(await nextTick(guest)).toBeGreaterThan(uptimeBefore);

    const back = await migrate(guest, proxy!.uri, {}, onHost2);
    expect(back).toMatchObject({ statuscode: 0, data: { name: guest, changed: true, state: 'running', destination: proxy!.uri } });
    expect(await domstate(guest, HOST2_URI)).toBe('absent');
    expect(await domstate(guest)).toBe('running');
    expect((await vm('info', { name: guest })).data.metadata).toEqual(before);
    await nextTick(guest);
    expectOneUninterruptedRun(guest);
  });

  test('refused destinations and states change nothing', async () => {
    const id = (await virsh(QEMU_URI, ['domid', guest])).trim();
    const refusals: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ destination: 'qemu+tcp://10.99.0.2/system;reboot' }, 'INPUT_INVALID', /does not match/],
      [{ destination: 'qemu+tcp://localhost/system' }, 'INVALID_ARGUMENT', /this host itself/],
      [{ destination: proxy!.uri }, 'INVALID_ARGUMENT', /is this host itself \(same libvirt host UUID/],
      // On the veth's subnet, where nothing answers: never off the machine.
      [{ destination: 'qemu+tcp://10.99.0.3/system' }, 'HYPERVISOR_UNREACHABLE', /does not answer/],
      [{ destination: HOST2_URI, name: 't-absent-vm' }, 'NOT_FOUND', /No VM named/],
    ];
    for (const [data, code, message] of refusals) {
      const reply = await stdioRpc({ agent: 'vm', action: 'migrate', data: { name: guest, ...data } });
      expect(reply).toMatchObject({ statuscode: expect.any(Number), data: { error_code: code } });
      expect(reply.statusmsg).toMatch(message);
    }
    // A domain of that name on the destination already.
    const xml = await virsh(QEMU_URI, ['dumpxml', '--inactive', guest]);
    const clashFile = join('/tmp', `${guest}-clash.xml`);
    await execa('sh', ['-c', 'cat > "$1"', 'sh', clashFile], { input: xml.replace(/<uuid>[^<]*<\/uuid>/, '') });
    await virsh(HOST2_URI, ['define', clashFile]);
    rmSync(clashFile);
    try {
      const clash = await migrate(guest, HOST2_URI);
      expect(clash).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
      expect(clash.statusmsg).toMatch(/already exists on qemu\+tcp:\/\/10\.99\.0\.2\/system/);
    } finally {
      await removeFromHost2(guest);
    }
    expect((await virsh(QEMU_URI, ['domid', guest])).trim()).toBe(id);
    expect(await domstate(guest)).toBe('running');
    expect(await domstate(guest, HOST2_URI)).toBe('absent');
  });

  test('a shut-off VM moves only as a definition (live=false), and a container not at all', async () => {
    const stopped = newVmName();
    moved.add(stopped);
    await createGuest(stopped);
    const live = await migrate(stopped, HOST2_URI);
    expect(live).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(live.statusmsg).toMatch(/it is shut off \(live=false moves its definition\)/);
    expect(await domstate(stopped, HOST2_URI)).toBe('absent');
    const offline = await migrate(stopped, HOST2_URI, { live: false });
    expect(offline).toMatchObject({ statuscode: 0, data: { changed: true, state: 'shutoff', bytes_transferred: null } });
    expect(await domstate(stopped)).toBe('absent');
    expect(await virsh(HOST2_URI, ['dumpxml', '--inactive', stopped])).toContain('<hv:vm_class>qemu</hv:vm_class>');

    const container = newVmName();
    moved.add(container);
    const created = await vm('create', { name: container, vm_class: 'lxc', rootfs: await containerRootfs(), memory_mb: 64 });
    expect(created.statuscode).toBe(0);
    const refused = await migrate(container, HOST2_URI, { live: false });
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    expect(await domstate(container, 'lxc:///system')).toBe('shut off');
  });

  test('progress is recorded in the job file while the migration runs, and the CLI shows it', async () => {
    const id = requestId();
    const input = JSON.stringify({ agent: 'vm', action: 'migrate', requestid: id, callerid: 'ops', data: { name: guest, destination: HOST2_URI, bandwidth_mib: 8 } });
    const running = execa(AGENT, ['rpc'], { input, env: agentEnv(), extendEnv: false, reject: false, timeout: 5 * 60_000 });
    const during = await waitFor(() => {
      const record = jobRecord(id);
      return record?.phase === 'migrating' && Number(record.percent) > 0 && record.state === 'running' ? record : undefined;
    }, `a running 'migrating' record with a percentage in ${JOBS_DIR}/${id}.json`);
    expect(during).toMatchObject({ job_id: id, request_id: id, agent: 'vm', action: 'migrate', target: guest, caller: `uid=${process.getuid!()}`, protocol: 'stdio', state: 'running' });
    expect(during.pid).toBe(running.pid);
    const reply = JSON.parse(String((await running).stdout)) as Reply;
    expect(reply).toMatchObject({ statuscode: 0, data: { state: 'running' } });
    expect(jobRecord(id)).toMatchObject({ state: 'succeeded', error_code: null, finished_at: expect.any(String) });
    expect(await domstate(guest, HOST2_URI)).toBe('running');

    const back = await cli(['vm', 'migrate', `name=${guest}`, `destination=${proxy!.uri}`, '--progress'], onHost2);
    expect(back.exitCode).toBe(0);
    // The progress line names the destination as its libvirt names itself.
    const thisHost = (await execa('virsh', ['-c', QEMU_URI, 'hostname'])).stdout.trim();
    expect(back.stderr).toMatch(new RegExp(`^hvagent: vm migrate ${guest}: migrating \\d+(\\.\\d)?% to ${thisHost.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(live\\)$`, 'm'));
    expect(back.stderr).toMatch(/\(succeeded\)$/m);
    expect(await domstate(guest)).toBe('running');
    await nextTick(guest);
    expectOneUninterruptedRun(guest);
  });

  test('a migration cut short by the deadline is aborted and the guest runs on here', async () => {
    const id = requestId();
    const uptimeBefore = await nextTick(guest);
    const reply = await migrate(guest, HOST2_URI, { bandwidth_mib: 2 }, { HVAGENT_DEADLINE_MS: '9000' }, id);
    expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'DEADLINE_EXCEEDED' } });
    expect(reply.statusmsg).toMatch(/it was aborted after \d+ ms and '.*' is running on this host/);
    expect(await domstate(guest)).toBe('running');
    await waitFor(async () => (await domstate(guest, HOST2_URI)) === 'absent' || undefined, `${guest} gone from host2`);
    expect(await nextTick(guest)).toBeGreaterThan(uptimeBefore);
    expect(jobRecord(id)).toMatchObject({ state: 'failed', phase: 'migrating', error_code: 'DEADLINE_EXCEEDED' });
    expectOneUninterruptedRun(guest);
  });

  test('copy_storage copies a qcow2 disk to a path that exists only in host2 storage pool', async () => {
    const dirName = `t-mig-${randomBytes(4).toString('hex')}`;
    const here = join('/var/lib/libvirt/images', dirName);
    const there = join(HOST2_VARLIB, 'images', dirName);
    mkdirSync(here);
    try {
      const disk = join(here, 'disk.qcow2');
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M']);
      await execa('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 1M 2M', disk]);
      await virsh(HOST2_URI, ['pool-define-as', dirName, 'dir', '--target', here]);
      try {
        await virsh(HOST2_URI, ['pool-build', dirName]);
        await virsh(HOST2_URI, ['pool-start', dirName]);
        const name = await tickingGuest({ disk, disk_format: 'qcow2' });
        expect(serialLog(name)).toMatch(/GUEST: block devices: .*vda/);

        const refused = await migrate(name, HOST2_URI);
        expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'HYPERVISOR_ERROR' } });
        expect(refused.statusmsg).toMatch(/[Uu]nsafe migration|shared storage/);
        expect(await domstate(name)).toBe('running');

        const reply = await migrate(name, HOST2_URI, { copy_storage: true });
        expect(reply).toMatchObject({ statuscode: 0, data: { state: 'running', changed: true } });
        expect(reply.data.bytes_transferred).toBeGreaterThan(2 * 1024 * 1024);
        expect(await domstate(name)).toBe('absent');
        // The same path on host2 is another file; the guest's data is in it.
        const compared = await execa('qemu-img', ['compare', '-U', disk, join(there, 'disk.qcow2')], { reject: false });
        expect(compared.stdout).toContain('Images are identical');
        await nextTick(name);
        expectOneUninterruptedRun(name);
      } finally {
        await Promise.all([...moved].map(removeFromHost2));
        await execa('virsh', ['-c', HOST2_URI, 'pool-destroy', dirName], { reject: false });
        await execa('virsh', ['-c', HOST2_URI, 'pool-undefine', dirName], { reject: false });
      }
    } finally {
      rmSync(here, { recursive: true, force: true });
      rmSync(there, { recursive: true, force: true });
    }
  }, 2 * BOUND_MS);
});
