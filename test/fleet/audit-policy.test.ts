import { randomBytes } from 'node:crypto';
import { sandbox, type Sandbox } from '../helpers/audit.js';
import { startHvagentFleet, type Fleet } from './fleet.js';

// Audit and policy through a real MCollective 2.12 fleet (ActiveMQ + a stock mcollectived,
// the runner from `hvagent install mcollective`): the caller the policy sees and the audit
// records is the one MCollective's psk security gave the request (uid=<client uid>), carried
// by the runner; a denial reaches `mco rpc` as statuscode 1 with the reason.

const me = `uid=${process.getuid!()}`;
let fleet: Fleet;
let box: Sandbox;

beforeAll(async () => {
  box = sandbox('audit-policy-fleet');
  box.policy('vm', ['policy default deny', `allow\t${me}\tlist info\t*\t*`]);
  box.policy('host', ['policy default allow', `deny\t${me}\tusage\t*\t*`]);
  fleet = await startHvagentFleet({ nodes: ['hv1'], env: { HVAGENT_CONFIG: box.config } });
}, 240_000);

afterAll(async () => {
  await fleet?.stop();
  box?.remove();
});

const rpc = (agent: string, action: string, inputs: string[] = []) => fleet.mco(['rpc', agent, action, ...inputs, '--nodes', fleet.nodesFile, '--json']);

test('each mco request is allowed or denied by the policy for its MCollective caller, and has its audit line', async () => {
  const missing = `audit-policy-${randomBytes(4).toString('hex')}`;
  const info = await rpc('vm', 'info', [`name=${missing}`]);
  expect(info.json?.[0]).toMatchObject({ sender: 'hv1', statuscode: 1, data: { error_code: 'NOT_FOUND' } });
  const deleted = await rpc('vm', 'delete', [`name=${missing}`]);
  expect(deleted.json?.[0]).toMatchObject({ sender: 'hv1', statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
  expect(deleted.json?.[0]?.statusmsg).toBe(`Caller '${me}' is not authorized to call vm#delete (the default of ${box.policyDir}/vm.policy)`);
  const usage = await rpc('host', 'usage');
  expect(usage.json?.[0]).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
  expect(usage.json?.[0]?.statusmsg).toMatch(/host\.policy line 2\)$/);
  expect((await rpc('host', 'agent_info')).json?.[0]).toMatchObject({ statuscode: 0 });

  const lines = box.lines();
  expect(lines.map((line) => [line.protocol, line.caller, `${line.agent}#${line.action}`, line.outcome])).toEqual([
    ['mcollective', me, 'vm#info', 'NOT_FOUND'],
    ['mcollective', me, 'vm#delete', 'NOT_AUTHORIZED'],
    ['mcollective', me, 'host#usage', 'NOT_AUTHORIZED'],
    ['mcollective', me, 'host#agent_info', 'OK'],
  ]);
  expect(lines.every((line) => /^[0-9a-f]{32}$/.test(line.request_id ?? ''))).toBe(true);
  expect(lines[1]).toMatchObject({ inputs: { name: missing }, targets: [`vm:${missing}`] });
});
