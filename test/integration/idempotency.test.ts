import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { AGENT, mcollectiveCall } from '../helpers/agent.js';
import { choriaRequest, sandbox, type Sandbox } from '../helpers/audit.js';

// A retried request (the same request id from the same caller) gets its first reply and
// does not run again; the same id with another body is refused. Proof that nothing ran: the
// volume the first request made is removed behind hvagent's back, and the retry neither
// makes it again nor says anything but what the first reply said.

const pool = `audit-policy-i${randomBytes(3).toString('hex')}`;
const poolDir = mkdtempSync(join(tmpdir(), 'audit-policy-idem-pool-'));
const boxes: Sandbox[] = [];
const hexId = () => randomBytes(16).toString('hex');

function box(idempotency = ''): Sandbox {
  const made = sandbox('audit-policy-idem', { extra: `storage: { pools: { ${pool}: { plugin: raw, path: ${poolDir} } } }\n${idempotency}` });
  boxes.push(made);
  return made;
}

afterAll(async () => {
  await execa('virsh', ['-c', 'qemu:///system', 'pool-destroy', `hvagent-${pool}`], { reject: false });
  await execa('virsh', ['-c', 'qemu:///system', 'pool-undefine', `hvagent-${pool}`], { reject: false });
  for (const made of boxes) made.remove();
  rmSync(poolDir, { recursive: true, force: true });
});

const create = (name: string) => ({ agent: 'volume', action: 'create', data: { pool, name, size_mb: 1 } });
const mcollective = (config: Sandbox, body: object, uniqid: string, callerid = 'uid=500') =>
  mcollectiveCall(JSON.stringify({ ...body, sender: 'hv1', callerid, uniqid }), { HVAGENT_CONFIG: config.config });
const choria = (config: Sandbox, body: { agent: string; action: string; data: unknown }, requestid: string, callerid = 'choria=ops.mcollective') =>
  choriaRequest({ executable: AGENT, pluginConfig: `config = ${config.config}\n` }, { ...body, requestid, callerid });

describe('a retried request id', () => {
  test('MCollective: the retry gets the first reply and does not run again', async () => {
    const config = box();
    const uniqid = hexId();
    const first = await mcollective(config, create('m1'), uniqid);
    expect(first.exitCode).toBe(0);
    expect(JSON.parse(first.replyText)).toMatchObject({ name: 'm1', changed: true });
    rmSync(join(poolDir, 'm1'));
    const retry = await mcollective(config, create('m1'), uniqid);
    expect([retry.exitCode, retry.replyText]).toEqual([0, first.replyText]);
    expect(existsSync(join(poolDir, 'm1'))).toBe(false);
    expect(config.lines().map((line) => [line.request_id, line.replayed ?? false])).toEqual([
      [uniqid, false],
      [uniqid, true],
    ]);
  });

  test('Choria: the same, and another caller with the same id is another request', async () => {
    const config = box();
    const id = hexId();
    const first = await choria(config, create('c1'), id);
    expect(first.reply).toMatchObject({ statuscode: 0, data: { changed: true } });
    rmSync(join(poolDir, 'c1'));
    expect((await choria(config, create('c1'), id)).replyText).toBe(first.replyText);
    expect(existsSync(join(poolDir, 'c1'))).toBe(false);
    const other = await choria(config, create('c1'), id, 'choria=someone-else.mcollective');
    expect(other.reply).toMatchObject({ statuscode: 0, data: { changed: true } });
    expect(existsSync(join(poolDir, 'c1'))).toBe(true);
  });

  test('the same id with another body is refused, typed on each protocol, and runs nothing', async () => {
    const config = box();
    const id = hexId();
    expect((await choria(config, create('d1'), id)).reply.statuscode).toBe(0);
    const refused = await choria(config, create('d2'), id);
    expect(refused.reply).toMatchObject({ statuscode: 4, data: { error_code: 'IDEMPOTENCY_CONFLICT', error_details: { request_id: id, first_action: 'volume#create' } } });
    expect(refused.reply.statusmsg).toBe(`Request id '${id}' was already used for volume#create with other inputs: a retry must repeat its request exactly; a new request needs a new id`);
    const uniqid = hexId();
    expect((await mcollective(config, create('d3'), uniqid)).exitCode).toBe(0);
    const mcoRefused = await mcollective(config, { ...create('d3'), data: { pool, name: 'd3', size_mb: 2 } }, uniqid);
    expect(mcoRefused.exitCode).toBe(4);
    expect(mcoRefused.stderr.split('\n')[0]).toMatch(/^Request id '[0-9a-f]{32}' was already used/);
    expect(existsSync(join(poolDir, 'd2'))).toBe(false);
    expect(statSync(join(poolDir, 'd3')).size).toBe(1024 * 1024);
  });

  test('retries that arrive while the first still runs wait for it: one run, one reply for all', async () => {
    const config = box();
    const id = hexId();
    const replies = await Promise.all(Array.from({ length: 4 }, () => choria(config, create('p1'), id)));
    expect(new Set(replies.map((reply) => reply.replyText)).size).toBe(1);
    expect(replies[0]!.reply).toMatchObject({ statuscode: 0, data: { changed: true } });
    const lines = config.lines();
    expect(lines).toHaveLength(4);
    expect(lines.filter((line) => !line.replayed)).toHaveLength(1);
  });

  test('past the window the id is new again; replies kept stay within max_entries', async () => {
    const config = box('idempotency: { window_seconds: 1, max_entries: 3 }');
    const id = hexId();
    expect((await choria(config, create('w1'), id)).reply.statuscode).toBe(0);
    rmSync(join(poolDir, 'w1'));
    // Rather than wait the window out, the kept reply is made older than it.
    const [keptFile] = readdirSync(join(config.dir, 'jobs', 'replies')).filter((name) => name.endsWith('.json'));
    const keptPath = join(config.dir, 'jobs', 'replies', keptFile!);
    const kept = JSON.parse(readFileSync(keptPath, 'utf8')) as { kept_at: number };
    writeFileSync(keptPath, JSON.stringify({ ...kept, kept_at: kept.kept_at - 2000 }));
    expect((await choria(config, create('w1'), id)).reply).toMatchObject({ statuscode: 0, data: { changed: true } });
    expect(existsSync(join(poolDir, 'w1'))).toBe(true);
    for (const name of ['w2', 'w3', 'w4', 'w5', 'w6']) expect((await choria(config, create(name), hexId())).reply.statuscode).toBe(0);
    const left = readdirSync(join(config.dir, 'jobs', 'replies')).filter((name) => name.endsWith('.json'));
    expect(left.length).toBeLessThanOrEqual(3);
  });

  test('reads are not kept: the same id runs again', async () => {
    const config = box();
    const id = hexId();
    const info = { agent: 'volume', action: 'list', data: { pool } };
    await choria(config, info, id);
    await choria(config, info, id);
    expect(config.lines().map((line) => line.replayed ?? false)).toEqual([false, false]);
    expect(existsSync(join(config.dir, 'jobs', 'replies'))).toBe(false);
  });
});
