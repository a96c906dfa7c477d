// Audit, policy and Idempotency-Key on hvagent serve with real clients: the caller is what
// the transport proved (the client certificate's CN, the token's caller, the unix peer's
// uid), the same policy files decide, every request has its line, and a retried
// Idempotency-Key gets the first reply without running again. A request an MCollective
// runner hands over to the server keeps its protocol and its middleware's caller.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { mcollectiveCall } from '../helpers/agent.js';
import type { AuditLine } from '../helpers/audit.js';
import { makePki, sha256, startServer, type Pki, type TestServer } from './helpers.js';

const TOKEN = 'audit-policy-token-0123456789';
const me = `uid=${process.getuid!()}`;
const pool = `audit-policy-r${randomBytes(3).toString('hex')}`;
let dir: string;
let pki: Pki;
let server: TestServer;
let auditFile: string;
let poolDir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'audit-policy-rest-'));
  pki = makePki(join(dir, 'pki'));
  auditFile = join(dir, 'log', 'audit.log');
  poolDir = join(dir, 'pool');
  const policyDir = join(dir, 'policy');
  mkdirSync(poolDir);
  mkdirSync(policyDir);
  writeFileSync(join(policyDir, 'volume.policy'), ['policy default deny', `allow\talice-cert bob ${me}\tlist info\t*\t*`, `allow\t${me} uid=500\tcreate delete\t*\t*`, ''].join('\n'));
  server = await startServer({
    pki,
    config: {
      server: { tokens: [{ caller: 'bob', sha256: sha256(TOKEN) }], max_body_bytes: 65536 },
      audit: { file: auditFile },
      authorization: { policy_dir: policyDir },
      storage: { pools: { [pool]: { plugin: 'raw', path: poolDir } } },
    },
  });
});

afterAll(async () => {
  await server?.stop();
  await execa('virsh', ['-c', 'qemu:///system', 'pool-destroy', `hvagent-${pool}`], { reject: false });
  await execa('virsh', ['-c', 'qemu:///system', 'pool-undefine', `hvagent-${pool}`], { reject: false });
  rmSync(dir, { recursive: true, force: true });
});

const lines = (): AuditLine[] => (existsSync(auditFile) ? readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditLine) : []);

/** The lines written after the first `before`, once there are `count` of them (the server writes a refusal's line after answering). */
async function linesAfter(before: number, count: number): Promise<AuditLine[]> {
  const until = Date.now() + 30_000;
  while (lines().length < before + count && Date.now() < until) await new Promise((resolve) => setImmediate(resolve));
  return lines().slice(before);
}

test('the certificate and the token are the caller: the policy decides by them (403 typed), and each request has its line', async () => {
  const before = lines().length;
  const list = await server.tls('/v1/volume/list', { method: 'POST', body: { pool }, cert: pki.alice });
  expect(list.status).toBe(200);
  const denied = await server.tls('/v1/volume/create', { method: 'POST', body: { pool, name: 'never', size_mb: 1 }, cert: pki.alice });
  expect(denied.status).toBe(403);
  expect(denied.json).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
  expect(denied.json.statusmsg).toMatch(/^Caller 'alice-cert' is not authorized to call volume#create \(the default of .*volume\.policy\)$/);
  const byToken = await server.tls('/v1/volume/delete', { method: 'POST', body: { pool, name: 'never' }, token: TOKEN });
  expect(byToken.status).toBe(403);
  expect(byToken.json.statusmsg).toMatch(/^Caller 'bob' is not/);
  expect(existsSync(join(poolDir, 'never'))).toBe(false);
  const added = lines().slice(before);
  expect(added.map((line) => [line.protocol, line.caller, line.action, line.outcome])).toEqual([
    ['rest', 'alice-cert', 'list', 'OK'],
    ['rest', 'alice-cert', 'create', 'NOT_AUTHORIZED'],
    ['rest', 'bob', 'delete', 'NOT_AUTHORIZED'],
  ]);
});

test('a retried Idempotency-Key gets the first reply and runs nothing; the key with another body is 422', async () => {
  const key = `k-${randomBytes(6).toString('hex')}`;
  const first = await server.unix('POST', '/v1/volume/create', { pool, name: 'idem', size_mb: 1 }, { 'Idempotency-Key': key });
  expect(first.status).toBe(200);
  expect(first.json.data).toMatchObject({ name: 'idem', changed: true });
  rmSync(join(poolDir, 'idem'));
  const retry = await server.unix('POST', '/v1/volume/create', { pool, name: 'idem', size_mb: 1 }, { 'Idempotency-Key': key });
  expect(retry.json).toEqual(first.json);
  expect(existsSync(join(poolDir, 'idem'))).toBe(false);
  const other = await server.unix('POST', '/v1/volume/create', { pool, name: 'idem2', size_mb: 1 }, { 'Idempotency-Key': key });
  expect(other.status).toBe(422);
  expect(other.json.data.error_code).toBe('IDEMPOTENCY_CONFLICT');
  expect(existsSync(join(poolDir, 'idem2'))).toBe(false);
  // Without the key, X-Request-Id alone never replays: the same create runs and finds the volume made.
  const again = await server.unix('POST', '/v1/volume/create', { pool, name: 'idem', size_mb: 1 }, { 'X-Request-Id': key });
  expect(again.json.data).toMatchObject({ changed: true });
  expect(existsSync(join(poolDir, 'idem'))).toBe(true);
  expect(lines().filter((line) => line.replayed).map((line) => [line.caller, line.action])).toEqual([[me, 'create']]);
});

test('an MCollective request handed over to the server keeps its protocol and its caller', async () => {
  const before = lines().length;
  const request = JSON.stringify({ agent: 'volume', action: 'delete', data: { pool, name: 'idem' }, sender: 'hv1', callerid: 'uid=777', uniqid: randomBytes(16).toString('hex') });
  const refused = await mcollectiveCall(request, { HVAGENT_SOCKET: server.socket, HVAGENT_CONFIG: '/nonexistent/hvagent.yaml' });
  expect(refused.exitCode).toBe(1);
  expect(refused.stderr.split('\n')[0]).toMatch(/^Caller 'uid=777' is not authorized to call volume#delete/);
  expect(existsSync(join(poolDir, 'idem'))).toBe(true);
  expect(lines().slice(before)).toEqual([expect.objectContaining({ protocol: 'mcollective', caller: 'uid=777', outcome: 'NOT_AUTHORIZED' })]);
});

test('what the server refuses before any action (401, unknown route, body too large) has its line too', async () => {
  const before = lines().length;
  const anonymous = await server.tls('/v1/volume/list', { method: 'POST', body: { pool } });
  expect(anonymous.status).toBe(401);
  const noRoute = await server.unix('GET', '/v1/no-such-thing');
  expect(noRoute.status).toBe(404);
  const large = await server.unix('POST', '/v1/volume/create', { pool, name: 'large', size_mb: 1, padding: 'x'.repeat(100_000) });
  expect(large.status).toBe(413);
  expect(existsSync(join(poolDir, 'large'))).toBe(false);
  const added = await linesAfter(before, 3);
  expect(added.map((line) => [line.protocol, line.caller, line.outcome])).toEqual([
    ['rest', null, 'UNAUTHENTICATED'],
    ['rest', me, 'ROUTE_UNKNOWN'],
    ['rest', me, 'REQUEST_TOO_LARGE'],
  ]);
  expect(added[1]!.message).toContain('/v1/no-such-thing');
});
