// Operations of hvagent serve with real guests: vm create run async and waited for (over
// REST, and from the per-request executables with async=true and the job agent), a
// provision cancelled half-way (nothing left behind), SIGTERM in the middle of one (it is
// undone within the bound, the server exits), and SIGKILL (the operation reads `lost`
// after the restart). A qemu-img stand-in first on the server's PATH holds the data
// volume's creation until the test lets it go, so that "half-way" is a real point.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, stdioRpc } from '../helpers/agent.js';
import { buildTestTemplates, CATALOGUE } from '../provisioning/helpers.js';
import { domstate, QEMU_URI, waitFor } from '../vm/helpers.js';
import { makePki, removeRestVms, restVmName, startServer, type Pki, type TestServer } from './helpers.js';

let dir: string;
let pki: Pki;
let pools: string;
let shims: string;
let server: TestServer;

const poolsConfig = () => ({
  storage: { pools: { vms: { plugin: 'qcow2', path: pools } } },
  templates: { catalogue: CATALOGUE },
  paths: { images: ['/var/lib/hvagent'] },
});

/** Runs the real qemu-img, except for NAME-data1: that waits for `<shims>/release-NAME` (or its parent's end). */
function writeQemuImgShim(): void {
  const real = '/usr/bin/qemu-img';
  writeFileSync(
    join(shims, 'qemu-img'),
    `#!/bin/sh
for arg in "$@"; do
  case "$arg" in
    *-data1*)
      name=$(basename "$arg" | sed 's/^[.]//; s/-data1.*//')
      touch "${shims}/held-$name"
      while [ ! -e "${shims}/release-$name" ] && kill -0 $PPID 2>/dev/null; do sleep 0.1; done
      [ -e "${shims}/release-$name" ] || exit 1 ;;
  esac
done
exec ${real} "$@"
`,
  );
  chmodSync(join(shims, 'qemu-img'), 0o755);
}

const withShims = () => ({ PATH: `${shims}:${process.env.PATH ?? '/usr/bin:/bin'}` });
/** Every entry of the pool that belongs to the VM, hidden part files included. */
const leftovers = (name: string) => readdirSync(pools).filter((file) => file.includes(name));
/** Half-way: the root volume is made and the data volume's qemu-img is held. */
const halfWay = (name: string) => existsSync(join(shims, `held-${name}`)) && leftovers(name).includes(`${name}-root`);

beforeAll(async () => {
  await buildTestTemplates();
  dir = mkdtempSync(join(tmpdir(), 'rest-ops-'));
  pki = makePki(join(dir, 'pki'));
  pools = mkdtempSync('/var/lib/hvagent/rest-pool-');
  chmodSync(pools, 0o755); // QEMU runs as its own user
  shims = join(dir, 'shims');
  mkdirSync(shims);
  writeQemuImgShim();
  server = await startServer({ pki, dir: join(dir, 'server'), config: poolsConfig(), env: withShims() });
});

afterAll(async () => {
  for (const entry of readdirSync(shims)) if (entry.startsWith('held-')) writeFileSync(join(shims, `release-${entry.slice(5)}`), '');
  await server?.stop('SIGKILL');
  await removeRestVms();
  rmSync(pools, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

const spec = (name: string, extra: Record<string, unknown> = {}) => ({ name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', memory_mb: 128, ...extra });

describe('async over REST', () => {
  test('vm create ?async=true: 202 with Location, progress while it runs, then the result from /wait', async () => {
    const name = restVmName();
    const started = await server.unix('POST', '/v1/vms?async=true', spec(name, { start: true }));
    expect(started.status).toBe(202);
    const operation = started.json.data as { id: string; state: string; agent: string; action: string; target: string };
    expect(started.headers.location).toBe(`/v1/operations/${operation.id}`);
    expect(operation).toMatchObject({ state: 'running', agent: 'vm', action: 'create', target: name });
    const done = await server.unix('GET', `${started.headers.location}/wait?timeout=120`);
    expect(done.status).toBe(200);
    expect(done.json.data).toMatchObject({ state: 'succeeded', may_cancel: false, error: null, result: { name, changed: true, state: 'running' } });
    expect(await domstate(name)).toBe('running');
    const listed = await server.unix('GET', `/v1/operations?target=${name}`);
    expect((listed.json.data as { operations: Array<{ id: string }> }).operations.map((entry) => entry.id)).toEqual([operation.id]);
    expect((await server.unix('DELETE', `/v1/operations/${operation.id}`)).json.data.error_code).toBe('CONFLICT');
  });

  test('Prefer: respond-async asks the same; a request refused by validation is refused at once, not as an operation', async () => {
    const refused = await server.unix('POST', '/v1/vms', spec('bad/name'), { Prefer: 'respond-async' });
    expect([refused.status, refused.json.data.error_code]).toEqual([400, 'INPUT_INVALID']);
    const started = await server.unix('GET', '/v1/host/usage?cpu_window_ms=50', undefined, { Prefer: 'respond-async' });
    expect(started.status).toBe(202);
    const waited = await server.unix('GET', `${started.headers.location}/wait?timeout=30`);
    expect(waited.json.data).toMatchObject({ state: 'succeeded', result: { cpu_count: expect.any(Number) } });
    expect((await server.unix('GET', '/v1/operations/no-such-operation')).status).toBe(404);
  });

  test('a provision cancelled half-way (root volume made, data volume held) leaves nothing behind', async () => {
    const name = restVmName();
    const started = await server.unix('POST', '/v1/vms?async=true', spec(name, { data_disks: 'vms:16', start: true }));
    expect(started.status).toBe(202);
    const id = (started.json.data as { id: string }).id;
    await waitFor(() => halfWay(name), 'the root volume made and the data volume started', 120_000);
    const cancelled = await server.unix('DELETE', `/v1/operations/${id}`);
    expect(cancelled.status).toBe(200);
    const ended = await server.unix('GET', `/v1/operations/${id}/wait?timeout=120`);
    expect(ended.json.data).toMatchObject({ state: 'cancelled', may_cancel: false, error: { code: 'CANCELLED' } });
    expect((ended.json.data as { error: { message: string } }).error.message).toContain('cancelled by uid=0');
    expect(await domstate(name, QEMU_URI)).toBe('absent');
    expect(leftovers(name)).toEqual([]);
  });
});

describe('fleets: async=true and the job agent, handed to the server by the per-request executables', () => {
  test('vm create async=true through hvagent rpc replies with a job_id at once; job wait follows it', async () => {
    const name = restVmName();
    const env = { HVAGENT_SOCKET: server.socket };
    const reply = await stdioRpc({ agent: 'vm', action: 'create', data: { ...spec(name), async: true } }, env);
    expect(reply).toMatchObject({ statuscode: 0, data: { name: null, job_id: expect.any(String) } });
    const id = reply.data.job_id as string;
    const waited = await stdioRpc({ agent: 'job', action: 'wait', data: { id, timeout: 120 } }, env);
    expect(waited).toMatchObject({ statuscode: 0, data: { id, state: 'succeeded', timed_out: false, job_action: 'create', target: name, result: { name, state: 'shutoff' } } });
    const status = await cli(['job', 'status', `id=${id}`], env);
    expect(status.stdout).toMatch(/State:\s+succeeded/);
    const listed = await cli(['vm', 'list', '--json'], env);
    expect((JSON.parse(listed.stdout).data.vms as Array<{ name: string }>).map((vm) => vm.name)).toContain(name);
  });

  test('without a server, async=true is a clear error and nothing is made', async () => {
    const name = restVmName();
    const reply = await stdioRpc({ agent: 'vm', action: 'create', data: { ...spec(name), async: true } }, { HVAGENT_SOCKET: 'none' });
    expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    expect(reply.statusmsg).toMatch(/needs hvagent serve running/);
    expect(await domstate(name)).toBe('absent');
  });
});

describe('lifecycle in the middle of an operation', () => {
  test('SIGTERM: no new requests, the operation is cancelled after server.shutdown_grace_s and undone, the server exits 0; the record stays', async () => {
    const serverDir = join(dir, 'sigterm');
    const draining = await startServer({ pki, dir: serverDir, config: { ...poolsConfig(), server: { shutdown_grace_s: 1 } }, env: withShims() });
    const name = restVmName();
    const started = await draining.unix('POST', '/v1/vms?async=true', spec(name, { data_disks: 'vms:16' }));
    const id = (started.json.data as { id: string }).id;
    await waitFor(() => halfWay(name), 'the root volume made and the data volume started', 120_000);
    const code = await draining.stop('SIGTERM');
    expect(code).toBe(0);
    expect(draining.output()).toMatch(/SIGTERM: stopping; 1 request\(s\) running/);
    expect(draining.output()).toMatch(/cancelled 1 request/);
    expect(await domstate(name)).toBe('absent');
    expect(leftovers(name)).toEqual([]);
    const again = await startServer({ pki, dir: serverDir, config: poolsConfig() });
    try {
      const after = await again.unix('GET', `/v1/operations/${id}`);
      expect(after.json.data).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
      expect((after.json.data as { error: { message: string } }).error.message).toContain('SIGTERM');
    } finally {
      await again.stop();
    }
  });

  test('SIGKILL: after the restart the operation that was running reads lost, it does not vanish', async () => {
    const serverDir = join(dir, 'sigkill');
    const killed = await startServer({ pki, dir: serverDir, config: poolsConfig(), env: withShims() });
    const name = restVmName();
    const started = await killed.unix('POST', '/v1/vms?async=true', spec(name, { data_disks: 'vms:16' }));
    const id = (started.json.data as { id: string }).id;
    await waitFor(() => halfWay(name), 'the root volume made and the data volume started', 120_000);
    await killed.stop('SIGKILL');
    const again = await startServer({ pki, dir: serverDir, config: poolsConfig() });
    try {
      const after = await again.unix('GET', `/v1/operations/${id}`);
      expect(after.json.data).toMatchObject({ id, state: 'lost', may_cancel: false, target: name });
      const listed = await again.unix('GET', '/v1/operations?state=lost');
      expect((listed.json.data as { operations: Array<{ id: string }> }).operations.map((entry) => entry.id)).toContain(id);
    } finally {
      await again.stop();
    }
  });
});
