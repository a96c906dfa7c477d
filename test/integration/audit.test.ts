import { randomBytes } from 'node:crypto';
import { AGENT, cli, mcollectiveCall, stdioRpc, stdioStream } from '../helpers/agent.js';
import { choriaRequest, newId, sandbox, type AuditLine, type Sandbox } from '../helpers/audit.js';

// One audit line per request through every protocol, driven through each real adapter:
// stdio (one request and a stream), the CLI, an MCollective request file and a Choria
// request file. Every request sent is counted against the lines written: ok, failed while
// running, refused by validation, by policy, unknown actions and unparseable requests.

const me = `uid=${process.getuid!()}`;
let box: Sandbox;

beforeAll(() => {
  box = sandbox('audit-policy-audit');
  box.policy('host', ['policy default allow', 'deny\t*\tusage\t*\t*']);
});
afterAll(() => box?.remove());

const env = () => ({ HVAGENT_CONFIG: box.config });
const choria = () => ({ executable: AGENT, pluginConfig: `config = ${box.config}\n` });

/** The requests every protocol sends, and the outcome each must be recorded with. */
function cases(missingVm: string) {
  return [
    { agent: 'host', action: 'agent_info', data: {}, outcome: 'OK', statuscode: 0 },
    { agent: 'vm', action: 'info', data: { name: missingVm }, outcome: 'NOT_FOUND', statuscode: 1 },
    { agent: 'vm', action: 'info', data: { name: '../etc' }, outcome: 'INPUT_INVALID', statuscode: 4 },
    { agent: 'host', action: 'usage', data: {}, outcome: 'NOT_AUTHORIZED', statuscode: 1 },
    { agent: 'host', action: 'no_such_action', data: {}, outcome: 'ACTION_UNKNOWN', statuscode: 2 },
  ];
}

function linesOf(protocol: string, since: number): AuditLine[] {
  return box.lines().slice(since).filter((line) => line.protocol === protocol);
}

describe('audit: one line per request on every protocol', () => {
  const sent: Record<string, number> = {};

  test('stdio, one request per process: each line has the fields an operator reads', async () => {
    const before = box.lines().length;
    const missing = newId('audit-policy-missing');
    const ids: string[] = [];
    for (const request of cases(missing)) {
      const requestid = newId('stdio');
      ids.push(requestid);
      const reply = await stdioRpc({ ...request, requestid, callerid: 'cert=somebody-else' }, env());
      expect(reply.statuscode).toBe(request.statuscode);
    }
    expect((await stdioRpc('{"agent": "host", "action"', env())).data.error_code).toBe('REQUEST_INVALID');
    sent.stdio = cases(missing).length + 1;
    const lines = linesOf('stdio', before);
    expect(lines).toHaveLength(sent.stdio);
    cases(missing).forEach((request, index) => {
      expect(lines[index]).toMatchObject({
        format: 1,
        request_id: ids[index],
        caller: me,
        claimed_caller: 'cert=somebody-else',
        agent: request.agent,
        action: request.action,
        outcome: request.outcome,
        statuscode: request.statuscode,
      });
      expect(Number.isNaN(Date.parse(lines[index]!.time))).toBe(false);
      expect(lines[index]!.duration_ms).toBeGreaterThanOrEqual(0);
    });
    expect(lines[1]).toMatchObject({ inputs: { name: missing }, targets: [`vm:${missing}`], changed: null });
    expect(lines[3]!.message).toMatch(/host\.policy line 2/);
    expect(lines[5]).toMatchObject({ agent: null, action: null, inputs: null, outcome: 'REQUEST_INVALID', caller: me });
  });

  test('stdio stream: a line per request, in a long-lived process', async () => {
    const before = box.lines().length;
    const requests = cases(newId('audit-policy-missing')).map((request) => JSON.stringify({ ...request, requestid: newId('stream') }));
    const replies = await stdioStream([...requests, 'not json'], env());
    expect(replies).toHaveLength(requests.length + 1);
    sent.stream = requests.length + 1;
    const lines = linesOf('stdio', before);
    expect(lines).toHaveLength(sent.stream);
    expect(new Set(lines.map((line) => line.pid)).size).toBe(1);
    expect(lines.map((line) => line.outcome).sort()).toEqual([...cases('x').map((request) => request.outcome), 'REQUEST_INVALID'].sort());
  });

  test('the CLI: the caller is the uid', async () => {
    const before = box.lines().length;
    const missing = newId('audit-policy-missing');
    const runs = [
      await cli(['host', 'agent_info'], env()),
      await cli(['vm', 'info', `name=${missing}`], env()),
      await cli(['vm', 'info', 'name=../etc'], env()),
      await cli(['host', 'usage'], env()),
      await cli(['host', 'no_such_action'], env()),
      await cli(['vm', 'info', 'name'], env()),
    ];
    expect(runs.map((run) => run.exitCode)).toEqual([0, 1, 4, 1, 2, 4]);
    sent.cli = runs.length;
    const lines = linesOf('cli', before);
    expect(lines.map((line) => [line.caller, line.outcome])).toEqual([
      [me, 'OK'],
      [me, 'NOT_FOUND'],
      [me, 'INPUT_INVALID'],
      [me, 'NOT_AUTHORIZED'],
      [me, 'ACTION_UNKNOWN'],
      [me, 'INPUT_INVALID'],
    ]);
    expect(lines[1]!.request_id).toBeNull();
  });

  test('MCollective request files: the caller is the one the runner wrote', async () => {
    const before = box.lines().length;
    const missing = newId('audit-policy-missing');
    for (const request of cases(missing)) {
      const ran = await mcollectiveCall({ agent: request.agent, action: request.action, data: request.data }, env());
      expect(ran.exitCode).toBe(request.statuscode);
    }
    // The runner's request file with the caller filled in (mcollective/util/hvagent_runner.rb).
    const uniqid = randomBytes(16).toString('hex');
    const withCaller = JSON.stringify({ agent: 'host', action: 'agent_info', data: {}, sender: 'hv1', callerid: 'uid=500', uniqid });
    expect((await mcollectiveCall(withCaller, env())).exitCode).toBe(0);
    expect((await mcollectiveCall('{"agent":', env())).exitCode).toBe(4);
    sent.mcollective = cases(missing).length + 2;
    const lines = linesOf('mcollective', before);
    expect(lines).toHaveLength(sent.mcollective);
    expect(lines.map((line) => line.outcome)).toEqual([...cases(missing).map((request) => request.outcome), 'OK', 'REQUEST_INVALID']);
    expect(lines[5]).toMatchObject({ caller: 'uid=500', request_id: uniqid });
    expect(lines[0]!.caller).toBeNull();
    expect(lines[0]!.request_id).toMatch(/^[0-9a-f]{32}$/);
  });

  test('Choria request files: the caller is its callerid', async () => {
    const before = box.lines().length;
    const missing = newId('audit-policy-missing');
    for (const request of cases(missing)) {
      const ran = await choriaRequest(choria(), { ...request, callerid: 'choria=ops.mcollective' });
      expect(ran.exitCode).toBe(0);
      expect(ran.reply.statuscode).toBe(request.statuscode);
    }
    sent.choria = cases(missing).length;
    const lines = linesOf('choria', before);
    expect(lines).toHaveLength(sent.choria);
    expect(lines.every((line) => line.caller === 'choria=ops.mcollective')).toBe(true);
    expect(lines.map((line) => line.outcome)).toEqual(cases(missing).map((request) => request.outcome));
  });

  test('coverage: every request sent has its line, and no line is extra', () => {
    const total = Object.values(sent).reduce((sum, count) => sum + count, 0);
    expect(Object.keys(sent).sort()).toEqual(['choria', 'cli', 'mcollective', 'stdio', 'stream']);
    expect(box.lines()).toHaveLength(total);
    process.stdout.write(`audit coverage: ${box.lines().length}/${total} requests recorded (${JSON.stringify(sent)})\n`);
  });
});

describe('audit: what the line leaves out, and what it never does to a request', () => {
  test('credentials in a download URL and undeclared inputs are not written', async () => {
    const box2 = sandbox('audit-policy-secrets');
    try {
      const reply = await stdioRpc({ agent: 'template', action: 'import', data: { ref: 'audit-policy-t', source: 'https://bob:hunter2@127.0.0.1:9/x.img', password: 'hunter2' } }, { HVAGENT_CONFIG: box2.config });
      expect(reply.data.error_code).toBe('INPUT_UNDECLARED');
      const text = JSON.stringify(box2.lines());
      expect(text).not.toContain('hunter2');
      expect(box2.lines()[0]!.inputs).toEqual({ ref: 'audit-policy-t', source: 'https://[secret]@127.0.0.1:9/x.img', password: '[undeclared]' });
    } finally {
      box2.remove();
    }
  });

  test('an audit file that cannot be written fails no request and keeps each protocol whole', async () => {
    // Not even root can make a directory in /proc.
    const brokenBox = sandbox('audit-policy-broken', { auditFile: '/proc/hvagent-audit-policy/audit.log' });
    const broken = brokenBox.config;
    try {
      const env2 = { HVAGENT_CONFIG: broken };
      const ok = await stdioStream([JSON.stringify({ agent: 'host', action: 'agent_info' }), JSON.stringify({ agent: 'host', action: 'agent_info' })], env2);
      expect(ok.map((reply) => reply.statuscode)).toEqual([0, 0]);
      const streamed = await cli(['rpc', '--stream'], env2, `${JSON.stringify({ agent: 'host', action: 'agent_info' })}\n${JSON.stringify({ agent: 'host', action: 'agent_info' })}\n`);
      expect(streamed.stderr.match(/cannot write the audit log \/proc\/hvagent-audit-policy\/audit\.log/g)).toHaveLength(1);
      // MCollective: the runner's status message is the first stderr line, still the real one.
      const failed = await mcollectiveCall({ agent: 'vm', action: 'info', data: { name: '../etc' } }, env2);
      expect(failed.exitCode).toBe(4);
      const [first, second] = failed.stderr.split('\n');
      expect(first).toMatch(/^Input 'name'/);
      expect(second).toMatch(/^hvagent: cannot write the audit log/);
      const choriaRun = await choriaRequest({ executable: AGENT, pluginConfig: `config = ${broken}\n` }, { agent: 'host', action: 'agent_info', data: {} });
      expect(choriaRun.reply.statuscode).toBe(0);
    } finally {
      brokenBox.remove();
    }
  });
});
