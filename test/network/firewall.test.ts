// NIC firewalls proved by traffic: two TCG guests on one NAT network made by the agent, A
// with the default filter (clean-traffic) and an allow list, B with no filter. Both send a
// UDP probe to the host every second from their leased address and one from a spoofed
// address (guest_probe, test initrd recipe 4); A serves HTTP on 8001, 8002 and 8003
// (guest_listen). What reaches the host's socket and which ports answer is the truth.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { stableMac } from '../../src/network/mac.js';
import { ASSETS, cleanup, CMDLINE, guestSpec, newVmName, QEMU_URI, READY, requireGuestAssets, virsh, vm, waitFor, waitForSerial } from '../vm/helpers.js';
import { stdioRpc } from '../helpers/agent.js';
import { cleanupNetworks, freePrefix, network, trackNetwork } from './helpers.js';

/** Without br_netfilter, iptables never sees bridged frames and libvirt's filters cannot work. */
function nwfilterUnavailable(): string | undefined {
  const sysctl = '/proc/sys/net/bridge/bridge-nf-call-iptables';
  if (!existsSync(sysctl)) return `${sysctl} does not exist (br_netfilter is not loaded): libvirt's network filters cannot see bridged traffic`;
  if (readFileSync(sysctl, 'utf8').trim() !== '1') return `${sysctl} is not 1: libvirt's network filters cannot see bridged traffic`;
  return undefined;
}
const unavailable = nwfilterUnavailable();
if (unavailable) {
  if (process.env.HVAGENT_REQUIRE_NWFILTER === '1') throw new Error(unavailable);
  console.warn(`test/network/firewall: SKIPPED: ${unavailable}`);
}
const describeFiltered = unavailable ? describe.skip : describe;

const firewall = (action: string, data: Record<string, unknown>, env: Record<string, string> = {}) => stdioRpc({ agent: 'firewall', action, data }, env);
const token = () => randomBytes(3).toString('hex');

/** Sources of the UDP probes that reached the host, in arrival order. */
class ProbeListener {
  readonly arrivals: string[] = [];
  readonly #socket: Socket = createSocket('udp4');
  port = 0;

  async start(): Promise<void> {
    this.#socket.on('message', (_message, remote) => this.arrivals.push(remote.address));
    await new Promise<void>((resolve) => this.#socket.bind(0, '0.0.0.0', resolve));
    this.port = this.#socket.address().port;
  }

  /** Waits until `count` probes from `source` arrive after arrival number `since`. */
  waitFrom(source: string, count: number, since = this.arrivals.length, timeoutMs = 90_000): Promise<true> {
    return waitFor(() => this.arrivals.slice(since).filter((address) => address === source).length >= count || undefined, `${count} probes from ${source}`, timeoutMs);
  }

  countFrom(source: string, since: number): number {
    return this.arrivals.slice(since).filter((address) => address === source).length;
  }

  stop(): void {
    this.#socket.close();
  }
}

/** The body of GET / on ip:port, or undefined when nothing answers within the bound. */
function httpGet(ip: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = get({ host: ip, port, path: '/', timeout: timeoutMs }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body.trim()));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

/**
 * What a TCP connection to ip:port meets: an answer, a refusal (RST), or silence, the mark
 * of a filter that drops (bounded: a SYN nobody answers is retried, never refused).
 */
function connectOutcome(ip: string, port: number, timeoutMs = 4000): Promise<'answered' | 'refused' | 'silent'> {
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port, timeout: timeoutMs });
    socket.on('connect', () => {
      socket.destroy();
      resolve('answered');
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve('silent');
    });
    socket.on('error', () => resolve('refused'));
  });
}

const waitAnswers = (ip: string, port: number) => waitFor(async () => (await httpGet(ip, port, 2000)) === `GUEST PORT ${port}` || undefined, `${ip}:${port} to answer`);
const waitSilent = (ip: string, port: number) => waitFor(async () => (await connectOutcome(ip, port, 2000)) === 'silent' || undefined, `${ip}:${port} to stop answering`);

async function nicFilters(): Promise<string[]> {
  return (await virsh(QEMU_URI, ['nwfilter-list'])).split('\n').flatMap((line) => /\s(hvagent-\S+)\s*$/.exec(line)?.[1] ?? []);
}

async function reservedMacs(name: string): Promise<string[]> {
  return [...(await virsh(QEMU_URI, ['net-dumpxml', name])).matchAll(/<host mac='([^']+)'/g)].map((match) => match[1]!);
}

describeFiltered('firewalls of TCG guests on one NAT network', () => {
  const probes = new ProbeListener();
  const [a, b] = [newVmName(), newVmName()];
  const ruleSet = `hres-${token()}`;
  let net = '';
  let prefix = '';
  let ipA = '';
  let macA = '';
  const spoofA = () => `${prefix}.77`;
  const spoofB = () => `${prefix}.78`;

  beforeAll(async () => {
    requireGuestAssets();
    const recipe = Number(readFileSync(join(ASSETS, 'recipe'), 'utf8'));
    if (!(recipe >= 4)) throw new Error(`guest assets in ${ASSETS} are older than recipe 4 (guest_listen, guest_probe): run scripts/libvirt-setup.sh assets`);
    await probes.start();
    net = trackNetwork(`hres-fw-${token()}`);
    prefix = await freePrefix();
    expect(await network('create', { name: net, subnet: `${prefix}.1/24` })).toMatchObject({ statuscode: 0, data: { changed: true } });
    ipA = `${prefix}.50`;
    const probe = (spoof: string) => `guest_probe=${prefix}.1:${probes.port}:${spoof}`;
    const [createdA, createdB] = await Promise.all([
      vm('create', guestSpec(a, { network: net, ipv4: `dhcp:${ipA}`, allow: 'tcp/8001', cmdline: `${CMDLINE} guest_listen=8001,8002,8003 ${probe(spoofA())}`, start: true })),
      vm('create', guestSpec(b, { network: net, ipv4: `dhcp:${prefix}.51`, filter: 'none', cmdline: `${CMDLINE} ${probe(spoofB())}`, start: true })),
    ]);
    expect(createdA).toMatchObject({ statuscode: 0 });
    expect(createdB).toMatchObject({ statuscode: 0 });
    macA = String((createdA.data.nics as Array<{ mac: string }>)[0]!.mac);
    await Promise.all([waitForSerial(a, READY), waitForSerial(b, READY)]);
  });

  afterAll(async () => {
    probes.stop();
    await cleanup();
    await firewall('delete', { name: ruleSet });
    await cleanupNetworks();
  });

  test('vm create reserved each address for its NIC: the guests leased exactly those', async () => {
    await Promise.all([waitForSerial(a, `GUEST: dhcp ok ${ipA}/24`), waitForSerial(b, `GUEST: dhcp ok ${prefix}.51/24`)]);
    expect(await reservedMacs(net)).toEqual(expect.arrayContaining([macA]));
    expect(await virsh(QEMU_URI, ['net-dhcp-leases', net])).toMatch(new RegExp(`${macA}\\s+ipv4\\s+${ipA.replaceAll('.', '\\.')}/24`));
    const listed = await network('nic_list', { name: a });
    expect((listed.data.nics as Array<Record<string, unknown>>)[0]).toMatchObject({ mac: macA, ipv4: ipA, firewall: { filter: 'clean-traffic', allow: ['tcp/8001'], rule_sets: [] } });
  });

  test("a spoofed source address from the filtered guest is dropped, while the unfiltered guest's spoofed probes arrive", async () => {
    const since = probes.arrivals.length;
    // B's spoofed probes arriving prove that a spoofed probe can reach the host at all.
    await probes.waitFrom(spoofB(), 3, since);
    await probes.waitFrom(ipA, 3, since);
    expect(probes.countFrom(spoofA(), since)).toBe(0);
    expect(probes.countFrom(spoofA(), 0)).toBe(0);
  });

  test('an allowed port answers; ports not allowed do not, while the guest serves them', async () => {
    expect(await httpGet(ipA, 8001)).toBe('GUEST PORT 8001');
    expect(await connectOutcome(ipA, 8002)).toBe('silent');
    expect(await connectOutcome(ipA, 8003)).toBe('silent');
    // Still alive and serving: the silence is the filter's.
    expect(await httpGet(ipA, 8001)).toBe('GUEST PORT 8001');
  });

  test('a named rule set: the NIC takes it live; redefining it changes the running guest at once; it cannot be deleted while used', async () => {
    expect(await firewall('define', { name: ruleSet, rules: 'tcp/8002' })).toMatchObject({ statuscode: 0, data: { changed: true, rules: ['tcp/8002'], used_by: [] } });
    const set = await firewall('nic_set', { name: a, mac: macA, allow: 'tcp/8001', rule_sets: ruleSet });
    expect(set).toMatchObject({ statuscode: 0, data: { changed: true, applied: 'live', firewall: { filter: 'clean-traffic', allow: ['tcp/8001'], rule_sets: [ruleSet] } } });
    expect(await virsh(QEMU_URI, ['dumpxml', a])).toContain(`<filterref filter='hvagent-nic-${macA.replaceAll(':', '')}'>`);
    expect(await virsh(QEMU_URI, ['dumpxml', '--inactive', a])).toContain(`<filterref filter='hvagent-nic-${macA.replaceAll(':', '')}'>`);
    await waitAnswers(ipA, 8002);

    const redefined = await firewall('define', { name: ruleSet, rules: 'tcp/8003' });
    expect(redefined).toMatchObject({ statuscode: 0, data: { changed: true, rules: ['tcp/8003'], used_by: [`${a} ${macA}`] } });
    await waitAnswers(ipA, 8003);
    await waitSilent(ipA, 8002);
    expect(await httpGet(ipA, 8001)).toBe('GUEST PORT 8001');

    const refused = await firewall('delete', { name: ruleSet });
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT', error_details: { used_by: [`${a} ${macA}`] } } });
    expect(await firewall('list', {})).toMatchObject({ statuscode: 0, data: { default_filter: 'clean-traffic' } });
    expect((await firewall('list', {})).data.rule_sets).toContainEqual({ name: ruleSet, filter: `hvagent-set-${ruleSet}`, rules: ['tcp/8003'], used_by: [`${a} ${macA}`] });
  });

  test('a source restriction: the port answers only from the sources allowed', async () => {
    expect(await firewall('nic_set', { name: a, mac: macA, allow: 'tcp/8001@192.0.2.0/24' })).toMatchObject({ statuscode: 0, data: { changed: true } });
    await waitSilent(ipA, 8001);
    expect(await firewall('nic_set', { name: a, mac: macA, allow: `tcp/8001@${prefix}.0/24` })).toMatchObject({ statuscode: 0, data: { changed: true } });
    await waitAnswers(ipA, 8001);
    expect(await connectOutcome(ipA, 8003)).toBe('silent');
    expect(await firewall('nic_set', { name: a, mac: macA, allow: `tcp/8001@${prefix}.0/24` })).toMatchObject({ statuscode: 0, data: { changed: false } });
  });

  test('no filter at all, live: the spoofed probes arrive and every port answers; its own filter is gone; the default again stops the spoofing', async () => {
    const none = await firewall('nic_set', { name: a, mac: macA, filter: 'none' });
    expect(none).toMatchObject({ statuscode: 0, data: { changed: true, applied: 'live', firewall: { filter: null, allow: [], rule_sets: [] } } });
    expect(await virsh(QEMU_URI, ['dumpxml', a])).not.toContain('<filterref');
    expect(await nicFilters()).not.toContain(`hvagent-nic-${macA.replaceAll(':', '')}`);
    await probes.waitFrom(spoofA(), 2);
    await waitAnswers(ipA, 8002);

    expect(await firewall('nic_set', { name: a, mac: macA, allow: 'tcp/8001' })).toMatchObject({ statuscode: 0, data: { changed: true } });
    await waitSilent(ipA, 8002);
    // Probes in flight when the filter came back have landed once two rounds of real ones have.
    await probes.waitFrom(ipA, 2);
    const since = probes.arrivals.length;
    await probes.waitFrom(ipA, 3, since);
    expect(probes.countFrom(spoofA(), since)).toBe(0);
  });

  test('the network cannot be stopped or deleted under the running guests (NETWORK_IN_USE naming them)', async () => {
    const stop = await network('stop', { name: net });
    expect(stop).toMatchObject({ statuscode: 1, data: { error_code: 'NETWORK_IN_USE' } });
    expect((stop.data.error_details as { used_by: string[] }).used_by.sort()).toEqual([a, b].sort());
    expect(await network('delete', { name: net })).toMatchObject({ statuscode: 1, data: { error_code: 'NETWORK_IN_USE' } });
    expect(await virsh(QEMU_URI, ['net-info', net])).toMatch(/Active:\s+yes/);
  });

  test('a NIC plugged in live with an allow list gets its own filter; unplugging it removes the filter', async () => {
    const attached = await network('nic_attach', { name: b, network: net, allow: 'tcp/22,icmp' });
    expect(attached).toMatchObject({ statuscode: 0, data: { changed: true, applied: 'live', nic: { firewall: { filter: 'clean-traffic', allow: ['tcp/22', 'icmp'], rule_sets: [] } } } });
    const mac = String(attached.data.mac);
    const filter = `hvagent-nic-${mac.replaceAll(':', '')}`;
    expect(await nicFilters()).toContain(filter);
    expect(await virsh(QEMU_URI, ['dumpxml', b])).toContain(`<filterref filter='${filter}'`);
    // The same NIC again is no change; with another firewall it is a CONFLICT.
    expect(await network('nic_attach', { name: b, network: net, mac, allow: 'tcp/22,icmp' })).toMatchObject({ statuscode: 0, data: { changed: false } });
    expect(await network('nic_attach', { name: b, network: net, mac, allow: 'tcp/23' })).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    const detached = await network('nic_detach', { name: b, mac });
    expect(detached).toMatchObject({ statuscode: 0, data: { changed: true } });
    // A guest still holding the NIC (live_pending) keeps the filter in use: it stays (docs/NETWORKS.md).
    expect([detached.data.applied, (await nicFilters()).includes(filter)]).toEqual(detached.data.applied === 'live' ? ['live', false] : ['live_pending', true]);
  });

  test('vm delete removes the reservation vm create made and the NIC filter of its own', async () => {
    expect(await vm('delete', { name: a, force: true })).toMatchObject({ statuscode: 0, data: { changed: true } });
    expect(await reservedMacs(net)).not.toContain(macA);
    expect(await nicFilters()).not.toContain(`hvagent-nic-${macA.replaceAll(':', '')}`);
  });

  test.each(['lease', 'nic-filter', 'define'])('a vm create that fails after its %s step leaves no reservation, filter or domain', async (step) => {
    const name = newVmName();
    const mac = stableMac(name, 0, new Set());
    const reply = await stdioRpc({ agent: 'vm', action: 'create', data: guestSpec(name, { network: net, ipv4: `dhcp:${prefix}.60`, allow: 'tcp/22' }) }, { HVAGENT_TEST_FAIL_AFTER: step });
    expect(reply).toMatchObject({ statuscode: 5, data: { error_code: 'INTERNAL' } });
    expect(reply.statusmsg).toContain(`after step '${step}'`);
    expect(await reservedMacs(net)).not.toContain(mac);
    expect(await nicFilters()).not.toContain(`hvagent-nic-${mac.replaceAll(':', '')}`);
    expect((await virsh(QEMU_URI, ['list', '--all', '--name'])).split('\n')).not.toContain(name);
  });

  test('refused before anything is made: an address outside the network, a rule set or filter that does not exist, rules that do not parse, rules for a container', async () => {
    const refused = async (extra: Record<string, unknown>, code: string, input: string) => {
      const name = newVmName();
      const reply = await vm('create', guestSpec(name, { network: net, ...extra }));
      expect(reply).toMatchObject({ data: { error_code: code } });
      expect(reply.statusmsg).toContain(`'${input}'`);
      expect((await virsh(QEMU_URI, ['list', '--all', '--name'])).split('\n')).not.toContain(name);
    };
    await refused({ ipv4: 'dhcp:10.0.0.5' }, 'INPUT_INVALID', 'ipv4');
    await refused({ ipv4: 'dhcp:10.0.0.5,dhcp:10.0.0.6' }, 'INPUT_INVALID', 'ipv4');
    await refused({ ipv4: 'static' }, 'INPUT_INVALID', 'ipv4');
    await refused({ rule_sets: 'hres-no-such-set' }, 'NOT_FOUND', 'rule_sets');
    await refused({ filter: 'hres-no-such-filter' }, 'NOT_FOUND', 'filter');
    await refused({ allow: 'tcp/99999' }, 'INPUT_INVALID', 'allow');
    await refused({ allow: 'smtp' }, 'INPUT_INVALID', 'allow');
    await refused({ vm_class: 'lxc', kernel: undefined, initrd: undefined, cmdline: undefined, rootfs: ASSETS, allow: 'tcp/22' }, 'UNSUPPORTED', 'allow');
    expect(await firewall('define', { name: 'hres-bad', rules: 'tcp/0' })).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(await nicFilters()).not.toContain('hvagent-set-hres-bad');
  });
});
