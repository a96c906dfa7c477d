// `mco rpc network create` through a real MCollective 2.12 fleet onto two hypervisors: hv1's
// hvagent manages this machine's libvirtd, hv2's the second libvirtd in its own network
// namespace (scripts/libvirt-setup.sh host2). Each identity gets its own hvagent.yaml
// (fleet.sh NODE_ENV_<identity>), so one request makes the network on both hosts, and
// each host's libvirtd is asked whether it has it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ensureHost2, HOST2_URI } from '../migration/host2.js';
import { freePrefix } from '../network/helpers.js';
import { startHvagentFleet, type Fleet, type RpcReply } from './fleet.js';

const HOST1_URI = 'qemu:///system';
const host2 = await ensureHost2();
if (!host2.ok) {
  if (process.env.HVAGENT_REQUIRE_HOST2 === '1') throw new Error(host2.why);
  console.warn(`test/fleet/network-create: SKIPPED (no second host): ${host2.why}`);
}
const describeHosts = host2.ok ? describe : describe.skip;

const name = `hres-fleet-${randomBytes(3).toString('hex')}`;
const configs = mkdtempSync(join(tmpdir(), 'hres-fleet-'));
let fleet: Fleet | undefined;
let prefix = '';

async function virsh(uri: string, args: string[]) {
  return execa('virsh', ['-c', uri, ...args], { reject: false, env: { LC_ALL: 'C' } });
}

/** `net-dumpxml` of the network on one host's libvirtd, or undefined when it has none. */
async function definitionOn(uri: string): Promise<string | undefined> {
  const ran = await virsh(uri, ['net-dumpxml', name]);
  return ran.exitCode === 0 ? String(ran.stdout) : undefined;
}

function bySender(replies: RpcReply[] | undefined): Record<string, RpcReply> {
  return Object.fromEntries((replies ?? []).map((reply) => [reply.sender, reply]));
}

describeHosts('network create on two hosts through the MCollective fleet', () => {
  beforeAll(async () => {
    prefix = await freePrefix();
    const config = (uri: string, node: string) => {
      const file = join(configs, `${node}.yaml`);
      // The second host has no LXC driver of its own: the test driver stands in for it.
      writeFileSync(file, `libvirt:\n  uri: ${uri}\n  lxc_uri: ${uri === HOST1_URI ? 'lxc:///system' : 'test:///default'}\npaths:\n  lock_dir: ${join(configs, node, 'locks')}\n`);
      return file;
    };
    fleet = await startHvagentFleet({ nodeEnv: { hv1: { HVAGENT_CONFIG: config(HOST1_URI, 'hv1') }, hv2: { HVAGENT_CONFIG: config(HOST2_URI, 'hv2') } } });
  });

  afterAll(async () => {
    await fleet?.stop();
    for (const uri of [HOST1_URI, HOST2_URI]) {
      await virsh(uri, ['net-destroy', name]);
      await virsh(uri, ['net-undefine', name]);
    }
    rmSync(configs, { recursive: true, force: true });
  });

  test('one request makes the network on each host, each on its own libvirtd', async () => {
    const result = await fleet!.mco(['rpc', 'network', 'create', `name=${name}`, `subnet=${prefix}.1/24`, 'domain=fleet.test', '--nodes', fleet!.nodesFile, '--json']);
    expect(result.exitCode).toBe(0);
    const replies = bySender(result.json);
    for (const sender of ['hv1', 'hv2']) {
      expect(replies[sender]).toMatchObject({ statuscode: 0, data: { name, changed: true, active: true, subnet: `${prefix}.0/24` } });
    }
    for (const uri of [HOST1_URI, HOST2_URI]) {
      const xml = await definitionOn(uri);
      expect(xml).toContain(`<ip address='${prefix}.1' prefix='24'>`);
      expect(xml).toContain("<domain name='fleet.test' localOnly='yes'/>");
      expect(String((await virsh(uri, ['net-info', name])).stdout)).toMatch(/Active:\s+yes/);
    }
    // Two libvirtds, two networks: each has its own UUID.
    expect(replies.hv1!.data.network).not.toEqual(replies.hv2!.data.network);
  });

  test('the same request again is no change on either host; one that differs is a CONFLICT on both, naming the difference', async () => {
    const again = await fleet!.mco(['rpc', 'network', 'create', `name=${name}`, `subnet=${prefix}.1/24`, 'domain=fleet.test', '--nodes', fleet!.nodesFile, '--json']);
    expect(Object.values(bySender(again.json)).map((reply) => [reply.sender, reply.statuscode, reply.data.changed])).toEqual([['hv1', 0, false], ['hv2', 0, false]]);
    const different = await fleet!.mco(['rpc', 'network', 'create', `name=${name}`, 'mode=route', `subnet=${prefix}.1/24`, 'domain=fleet.test', '--nodes', fleet!.nodesFile, '--json']);
    for (const reply of Object.values(bySender(different.json))) {
      expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
      expect(reply.statusmsg).toContain('mode nat (asked: route)');
    }
    expect(Object.keys(bySender(different.json))).toEqual(['hv1', 'hv2']);
  });

  test('delete removes it from both hosts', async () => {
    const result = await fleet!.mco(['rpc', 'network', 'delete', `name=${name}`, '--nodes', fleet!.nodesFile, '--json']);
    expect(Object.values(bySender(result.json)).map((reply) => [reply.sender, reply.statuscode, reply.data.changed])).toEqual([['hv1', 0, true], ['hv2', 0, true]]);
    expect([await definitionOn(HOST1_URI), await definitionOn(HOST2_URI)]).toEqual([undefined, undefined]);
  });
});
