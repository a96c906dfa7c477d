import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { AGENT, agentEnv, mcollectiveCall, REPO } from '../helpers/agent.js';
import { choriaRaw, RPC_PROTOCOL } from '../helpers/choria.js';

// Hostile input through every protocol: each gets a well-formed error reply, nothing is
// executed (the canary file is never created) and nothing is written (the working and
// temp directories stay empty).

const canary = join(tmpdir(), `hv-canary-${randomBytes(6).toString('hex')}`);
const touch = `touch ${canary}`;
const megabyte = 'A'.repeat(1024 * 1024);
const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;

const hostileRequests: Array<[string, string]> = [
  ['invalid JSON', '{"agent":"host","action":'],
  ['a JSON array', '[{"agent":"host","action":"info"}]'],
  ['a bare string', `"${touch}"`],
  ['a shell command as agent', JSON.stringify({ agent: `host; ${touch}`, action: 'info' })],
  ['command substitution as action', JSON.stringify({ agent: 'host', action: `$(${touch})` })],
  ['path traversal as agent', JSON.stringify({ agent: '../../../../usr/bin/touch', action: 'info' })],
  ['NUL in the agent', JSON.stringify({ agent: 'host\u0000', action: 'info' })],
  ['a newline in the action', JSON.stringify({ agent: 'host', action: 'info\nrm' })],
  ['a number as action', JSON.stringify({ agent: 'host', action: 7 })],
  ['an Object method as action', JSON.stringify({ agent: 'host', action: 'constructor' })],
  ['__proto__ as agent', JSON.stringify({ agent: '__proto__', action: 'info' })],
  ['data that is a string', JSON.stringify({ agent: 'host', action: 'info', data: `; ${touch}` })],
  ['a 1 MB string input', JSON.stringify({ agent: 'host', action: 'info', data: { name: megabyte } })],
  ['a __proto__ input', '{"agent":"host","action":"info","data":{"__proto__":{"polluted":true}}}'],
  ['wrong types', JSON.stringify({ agent: 'host', action: 'info', data: { memory_mb: 'lots', start: 'yes' } })],
  ['deep nesting', `{"agent":"host","action":"info","data":{"x":${deep}}}`],
  ['shell metacharacters as input names', JSON.stringify({ agent: 'host', action: 'info', data: { [`$(${touch})`]: 1 } })],
  ['a 5 MB request', JSON.stringify({ agent: 'host', action: 'info', data: { x: 'B'.repeat(5 * 1024 * 1024) } })],
];

function expectErrorReply(reply: { statuscode: number; statusmsg: string; data: unknown }): void {
  expect(reply.statuscode).toBeGreaterThanOrEqual(1);
  expect(reply.statuscode).toBeLessThanOrEqual(5);
  expect(reply.statusmsg.length).toBeGreaterThan(0);
  expect(reply.statusmsg.length).toBeLessThan(400);
  expect(typeof (reply.data as Record<string, unknown>).error_code).toBe('string');
}

function freshDirs() {
  const cwd = mkdtempSync(join(tmpdir(), 'hv-hostile-cwd-'));
  const temp = mkdtempSync(join(tmpdir(), 'hv-hostile-tmp-'));
  return { cwd, temp, env: agentEnv({ TMPDIR: temp }) };
}

afterAll(() => {
  expect(existsSync(canary)).toBe(false);
});

describe.each(hostileRequests)('hostile request: %s', (_, text) => {
  test('stdio', async () => {
    const { cwd, temp, env } = freshDirs();
    const ran = await execa(AGENT, ['rpc'], { cwd, env, extendEnv: false, input: text, reject: false });
    expect(ran.exitCode).toBe(0);
    expectErrorReply(JSON.parse(String(ran.stdout)));
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(temp)).toEqual([]);
  });

  test('MCollective', async () => {
    const ran = await mcollectiveCall(text);
    expect(ran.exitCode).toBeGreaterThanOrEqual(1);
    expect(ran.exitCode).toBeLessThanOrEqual(5);
    expect(ran.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(typeof ran.reply?.error_code).toBe('string');
    expect(readdirSync(ran.cwd)).toHaveLength(2);
  });

  test('Choria', async () => {
    const ran = await choriaRaw({ executable: AGENT }, RPC_PROTOCOL, text, 'host', 20_000);
    expect(ran.exitCode).toBe(0);
    const reply = JSON.parse(ran.replyText);
    expect(Object.keys(reply).sort()).toEqual(['data', 'statuscode', 'statusmsg']);
    expectErrorReply(reply);
  });
});

test('the stream answers every hostile line and goes on', async () => {
  const { cwd, temp, env } = freshDirs();
  const lines = hostileRequests.map(([, text]) => text.replaceAll('\n', ' ')).filter((text) => text.length < 4 * 1024 * 1024);
  lines.push(JSON.stringify({ agent: 'host', action: 'info', data: { x: 1 }, requestid: 'last' }));
  const ran = await execa(AGENT, ['rpc', '--stream'], { cwd, env, extendEnv: false, input: `${lines.join('\n')}\n`, reject: false });
  const replies = String(ran.stdout).trimEnd().split('\n').map((line) => JSON.parse(line));
  expect(replies).toHaveLength(lines.length);
  replies.forEach(expectErrorReply);
  expect(replies.at(-1).requestid).toBe('last');
  expect(readdirSync(cwd)).toEqual([]);
  expect(readdirSync(temp)).toEqual([]);
});

test('no request pollutes a prototype inside the agent', async () => {
  const { cwd, temp, env } = freshDirs();
  const report = join(temp, 'prototypes.json');
  const pollutions = ['{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"name":"x","__proto__":{"toString":"polluted"}}'];
  const lines = [
    ...hostileRequests.map(([, text]) => text.replaceAll('\n', ' ')).filter((text) => text.length < 4 * 1024 * 1024),
    ...['host info', 'vm create', 'vm info', 'volume create', 'template info', 'network nic_attach'].flatMap((target) => {
      const [agent, action] = target.split(' ');
      return pollutions.map((data) => `{"agent":"${agent}","action":"${action}","data":${data}}`);
    }),
    '{"__proto__":{"polluted":true},"agent":"host","action":"agent_info","data":{}}',
  ];
  const ran = await execa(process.execPath, ['--require', join(REPO, 'test', 'fixtures', 'prototype-watch.cjs'), join(REPO, 'dist', 'hvagent.cjs'), 'rpc', '--stream'], {
    cwd,
    env: { ...env, HVAGENT_PROTOTYPE_REPORT: report },
    extendEnv: false,
    input: `${lines.join('\n')}\n`,
    reject: false,
  });
  expect(String(ran.stdout).trimEnd().split('\n')).toHaveLength(lines.length);
  expect(JSON.parse(readFileSync(report, 'utf8'))).toEqual([]);
});

describe('hostile command lines', () => {
  test.each<[string, string[]]>([
    ['a shell command as value', ['host', 'info', `name=; ${touch}`]],
    ['command substitution as key', ['host', 'info', `$(${touch})=1`]],
    ['a traversal as agent', ['../../../usr/bin/touch', canary]],
    ['a traversal as action', ['host', '../../bin/sh']],
    ['a 100 kB value (the kernel caps one argument at 128 kB)', ['host', 'info', `name=${'A'.repeat(100_000)}`]],
    ['a newline in a value', ['host', 'info', `name=a\n${touch}`]],
    ['install into a missing target kind', ['install', `$(${touch})`, '/tmp']],
  ])('%s', async (_, args) => {
    const { cwd, temp, env } = freshDirs();
    const ran = await execa(AGENT, args, { cwd, env, extendEnv: false, reject: false });
    expect(ran.exitCode).toBeGreaterThanOrEqual(1);
    expect(ran.exitCode).toBeLessThanOrEqual(5);
    expect(String(ran.stderr)).toMatch(/^hvagent: /);
    expect(String(ran.stdout)).toBe('');
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(temp)).toEqual([]);
  });
});
