import { cleanupNetworks, createNetwork, type TestNetwork } from '../network/helpers.js';
import { startHvagentFleet, type Fleet } from './fleet.js';

// `mco rpc network list` through a real MCollective 2.12 fleet (hv1 and hv2 share this
// machine's libvirtd): every identity reports the same networks, and the client prints the
// DDL's aggregate summaries over them.

let fleet: Fleet;
let nat: TestNetwork;
let isolated: TestNetwork;

beforeAll(async () => {
  [nat, isolated] = [await createNetwork('nat'), await createNetwork('isolated')];
  fleet = await startHvagentFleet();
});

afterAll(async () => {
  await fleet?.stop();
  await cleanupNetworks();
});

describe('network list through the MCollective fleet', () => {
  test('both identities report the t- networks, with the same count', async () => {
    const result = await fleet.mco(['rpc', 'network', 'list', '--nodes', fleet.nodesFile, '--json']);
    expect(result.exitCode).toBe(0);
    expect(result.json?.map((reply) => [reply.sender, reply.statuscode])).toEqual([['hv1', 0], ['hv2', 0]]);
    for (const reply of result.json ?? []) {
      expect(reply.data.names).toEqual(expect.arrayContaining([nat.name, isolated.name]));
      expect(reply.data.networks).toContainEqual(expect.objectContaining({ name: isolated.name, forward_mode: 'isolated', subnet: isolated.subnet }));
      expect(reply.data.count).toBe((reply.data.networks as unknown[]).length);
    }
  });

  test('the text output prints the summaries: total count, each network and forward mode counted over the hosts', async () => {
    const result = await fleet.mco(['rpc', 'network', 'list', '--nodes', fleet.nodesFile]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Summary of Count:');
    // The total adds up what this very output printed for each identity (both t- networks at least on each).
    const counts = [...result.stdout.matchAll(/^ +Count: (\d+)$/gm)].map((match) => Number(match[1]));
    expect(counts).toHaveLength(2);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(2);
    expect(result.stdout).toMatch(new RegExp(`^Summary of Count:\\n\\n {3}Total: ${counts[0]! + counts[1]!}$`, 'm'));
    expect(result.stdout).toContain('Summary of Names:');
    expect(result.stdout).toMatch(new RegExp(`${nat.name} = 2`));
    expect(result.stdout).toMatch(new RegExp(`${isolated.name} = 2`));
    expect(result.stdout).toContain('Summary of Forward modes:');
    expect(Number(/ isolated = (\d+)/.exec(result.stdout)?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(/ nat = (\d+)/.exec(result.stdout)?.[1])).toBeGreaterThanOrEqual(2);
  });
});
