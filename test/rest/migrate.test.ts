// vm migrate as an operation of hvagent serve, to host2 (the libvirtd in the hvagent-host2
// network namespace, test/migration/host2.ts): started with ?async=true, followed with
// /wait, the guest seen running there. Not bounded by the vm agent's 120 s timeout: the
// operation has operations.timeout_s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureHost2, HOST2_URI, removeFromHost2 } from '../migration/host2.js';
import { cleanup, CMDLINE, createGuest, domstate, newVmName, requireGuestAssets, waitForSerial } from '../vm/helpers.js';
import { makePki, startServer, type TestServer } from './helpers.js';

const host2 = await ensureHost2();
if (!host2.ok) {
  if (process.env.HVAGENT_REQUIRE_HOST2 === '1') throw new Error(host2.why);
  console.warn(`SKIPPING REST migration tests: ${host2.why}`);
}
const describeHost2 = host2.ok ? describe : describe.skip;

let dir: string;
let server: TestServer;
const moved: string[] = [];

beforeAll(async () => {
  requireGuestAssets();
  dir = mkdtempSync(join(tmpdir(), 'rest-migrate-'));
  server = await startServer({ pki: makePki(join(dir, 'pki')), dir: join(dir, 'server') });
});

afterAll(async () => {
  await server?.stop();
  await Promise.all(moved.map(removeFromHost2));
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describeHost2('vm migrate as an operation', () => {
  test('?async=true answers 202 at once; /wait follows it to host2; the operation holds the result', async () => {
    const name = newVmName();
    moved.push(name);
    await createGuest(name, { cmdline: `${CMDLINE} guest_tick`, start: true });
    await waitForSerial(name, 'GUEST: tick uptime=');
    const started = await server.unix('POST', `/v1/vms/${name}/migrate?async=true`, { destination: HOST2_URI });
    expect(started.status).toBe(202);
    const id = (started.json.data as { id: string }).id;
    const done = await server.unix('GET', `/v1/operations/${id}/wait?timeout=600`);
    expect(done.json.data).toMatchObject({ state: 'succeeded', async: true, action: 'migrate', target: name, result: { name, destination: HOST2_URI, changed: true } });
    expect((done.json.data as { progress: { stage: string } }).progress.stage).toBe('verifying');
    expect(await domstate(name, HOST2_URI)).toBe('running');
    expect(await domstate(name)).toBe('absent');
  });
});
