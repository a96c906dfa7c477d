// The MCollective fleet with hvagent serve running: the stock mcollectived's runner hands
// each request to the server over its unix socket (no agent program is started), fleets
// start operations with async=true and follow them with the job agent; once the server is
// gone, the same requests run in the agent program as before. The server's configuration
// disables the template agent, so each reply says where it was answered.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePki, startServer, type Pki, type TestServer } from '../rest/helpers.js';
import { startHvagentFleet, type Fleet } from './fleet.js';

let dir: string;
let pki: Pki;
let server: TestServer;
let fleet: Fleet;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rest-fleet-'));
  pki = makePki(join(dir, 'pki'));
  server = await startServer({ pki, dir: join(dir, 'server'), config: { agents: { disabled: ['template'] } } });
  fleet = await startHvagentFleet({ env: { HVAGENT_SOCKET: server.socket } });
});

afterAll(async () => {
  await fleet?.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const agentsOf = (reply: { data: Record<string, unknown> }) => reply.data.agents as string[];

describe('MCollective with hvagent serve running', () => {
  test('every identity is answered by the server, with the transport\'s protocol', async () => {
    const result = await fleet.mco(['rpc', 'host', 'agent_info', '--nodes', fleet.nodesFile, '--json']);
    expect(result.json?.map((reply) => [reply.sender, reply.statuscode, reply.data.protocol])).toEqual([
      ['hv1', 0, 'mcollective'],
      ['hv2', 0, 'mcollective'],
    ]);
    for (const reply of result.json ?? []) expect(agentsOf(reply)).not.toContain('template');
  });

  test('vm migrate async=true replies with a job id at once, and job wait follows it to its end', async () => {
    const started = await fleet.mco(['rpc', 'vm', 'migrate', 'name=rest-nowhere-vm', 'destination=qemu+tcp://10.99.0.2/system', 'async=true', '-I', 'hv1', '--json']);
    expect(started.json?.map((reply) => [reply.sender, reply.statuscode])).toEqual([['hv1', 0]]);
    const id = started.json?.[0]?.data.job_id as string;
    expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
    const waited = await fleet.mco(['rpc', 'job', 'wait', `id=${id}`, 'timeout=60', '-I', 'hv1', '--json']);
    expect(waited.json?.[0]?.data).toMatchObject({ id, state: 'failed', timed_out: false, job_action: 'migrate', target: 'rest-nowhere-vm', error: { code: 'NOT_FOUND' } });
    const text = await fleet.mco(['rpc', 'job', 'status', `id=${id}`, '-I', 'hv1']);
    expect(text.stdout).toMatch(/State: failed/);
  });

  test('a request failing validation is refused by the server with the same statuscode and message', async () => {
    const result = await fleet.mco(['rpc', 'host', 'info', 'bogus=1', '-I', 'hv1', '--json']);
    expect(result.json?.map((reply) => [reply.statuscode, reply.statusmsg, reply.data.error_code])).toEqual([
      [4, "Input 'bogus' is not declared for host#info; it takes no inputs", 'INPUT_UNDECLARED'],
    ]);
  });

  test('once the server has stopped, the agent program answers again', async () => {
    await server.stop();
    const result = await fleet.mco(['rpc', 'host', 'agent_info', '--nodes', fleet.nodesFile, '--json']);
    expect(result.json?.map((reply) => [reply.sender, reply.statuscode])).toEqual([
      ['hv1', 0],
      ['hv2', 0],
    ]);
    for (const reply of result.json ?? []) expect(agentsOf(reply)).toContain('template');
    const async = await fleet.mco(['rpc', 'vm', 'start', 'name=rest-nowhere-vm', 'async=true', '-I', 'hv1', '--json']);
    expect(async.json?.[0]).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
  });
});
