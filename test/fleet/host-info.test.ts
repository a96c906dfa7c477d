import { allAgentDdls } from '../../src/ddl/registry.js';
import { toJavaScriptRegex } from '../../src/ddl/regex.js';
import type { InputItem } from '../../src/ddl/types.js';
import { expectRealHostInfo, hostTruth } from '../helpers/host-truth.js';
import { startHvagentFleet, type Fleet } from './fleet.js';

// `mco rpc host info` through a real MCollective 2.12 fleet (ActiveMQ + stock
// mcollectived on Ruby 3.1), with the plugin tree written by `hvagent install mcollective`.

let fleet: Fleet;

beforeAll(async () => {
  fleet = await startHvagentFleet();
});

afterAll(async () => {
  await fleet?.stop();
});

describe('host info through the MCollective fleet', () => {
  test('every identity answers with statuscode 0 and the real host data', async () => {
    const result = await fleet.mco(['rpc', 'host', 'info', '--nodes', fleet.nodesFile, '--json']);
    expect(result.exitCode).toBe(0);
    expect(result.json?.map((reply) => reply.sender)).toEqual(['hv1', 'hv2']);
    const truth = await hostTruth();
    for (const reply of result.json ?? []) {
      expect(reply.statuscode).toBe(0);
      expectRealHostInfo(reply.data, truth);
    }
  });

  test('the text output shows display_as labels and the VM class summary', async () => {
    const result = await fleet.mco(['rpc', 'host', 'info', '--nodes', fleet.nodesFile]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/VM classes: \[.*"qemu"/);
    expect(result.stdout).toContain('Summary of VM classes:');
    expect(result.stdout).toMatch(/qemu = 2/);
  });

  test('a request failing validation shows statuscode 4 and its message from every identity', async () => {
    const result = await fleet.mco(['rpc', 'host', 'info', 'bogus=1', '--nodes', fleet.nodesFile, '--json']);
    expect(result.exitCode).toBe(2);
    expect(result.json?.map((reply) => [reply.sender, reply.statuscode, reply.statusmsg])).toEqual([
      ['hv1', 4, "Input 'bogus' is not declared for host#info; it takes no inputs"],
      ['hv2', 4, "Input 'bogus' is not declared for host#info; it takes no inputs"],
    ]);
    expect(result.json?.[0]?.data.error_code).toBe('INPUT_UNDECLARED');
  });

  test('an action the DDL does not declare is refused by the client before anything is sent', async () => {
    const result = await fleet.mco(['rpc', 'host', 'reboot', '--nodes', fleet.nodesFile]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr + result.stdout).toContain("Attempted to call action reboot for host but it's not declared in the DDL");
  });

  test('every action name reaches hvagent through mco rpc (no RPC::Client or Kernel method in the way)', async () => {
    // Required inputs get harmless values (a VM that does not exist), so that the mco client
    // lets the request through and only a name collision could stop it.
    // A string gets the first sample its validation and maxlength accept (the mco client checks
    // both): a plain name, a TYPE:NAME, a path, a MAC, a migration destination (never contacted:
    // the VM does not exist), an IPv4 address (TEST-NET-1, for a network that does not exist).
    const STRING_SAMPLES = ['hvagent-probe-none', 'image:hvagent-probe-none', '/var/lib/hvagent/hvagent-probe-none', '00:00:5e:00:53:00', 'qemu+tcp://hvagent-probe-none/system', '192.0.2.77'];
    const sample = (input: InputItem) =>
      STRING_SAMPLES.find((value) => value.length <= (input.maxlength ?? Infinity) && new RegExp(toJavaScriptRegex(input.validation ?? ''), 'u').test(value)) ?? STRING_SAMPLES[0];
    const probe = (input: InputItem) =>
      input.type === 'list' ? input.list![0] : input.type === 'boolean' ? 'false' : input.type === 'string' ? sample(input) : String(input.minimum ?? 1);
    for (const ddl of allAgentDdls()) {
      for (const action of ddl.actions) {
        const required = Object.entries(action.input).filter(([, input]) => !input.optional).map(([name, input]) => `${name}=${probe(input)}`);
        const result = await fleet.mco(['rpc', ddl.metadata.name, action.action, ...required, '-I', 'hv1', '--json']);
        expect([action.action, result.stderr]).toEqual([action.action, '']);
        const [reply] = result.json ?? [];
        expect(reply?.action).toBe(action.action);
        // Either it ran, or hvagent itself refused it (e.g. a required input is missing).
        expect(reply?.statuscode === 0 || typeof reply?.data.error_code === 'string').toBe(true);
      }
    }
  });

  test('agent_info reports that the request came through MCollective', async () => {
    const result = await fleet.mco(['rpc', 'host', 'agent_info', '--nodes', fleet.nodesFile, '--json']);
    expect(result.json?.map((reply) => [reply.sender, reply.statuscode, reply.data.protocol])).toEqual([
      ['hv1', 0, 'mcollective'],
      ['hv2', 0, 'mcollective'],
    ]);
  });

  test('mco plugin doc renders the installed DDL', async () => {
    const result = await fleet.mco(['plugin', 'doc', 'agent/host']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('info action:');
    expect(result.stdout).toContain('Display As: VM classes');
  });
});
