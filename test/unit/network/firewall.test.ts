import type { HvConfig } from '../../../src/config/schema.js';
import { VM_CLASSES } from '../../../src/model/vm-classes.js';
import { nicFilterXml, parseFilterXml, ruleSetFilterXml } from '../../../src/network/firewall/filter-xml.js';
import { nicFilterName, parseFilterList } from '../../../src/network/firewall/filters.js';
import { filterRefOf, firewallView, learningParameters, parseNicFirewall, viewOf } from '../../../src/network/firewall/nic-firewall.js';
import { formatAllowRule, parseAllowRules } from '../../../src/network/firewall/rules.js';
import { interfaceWithFilter } from '../../../src/network/interface-filter.js';
import { parseDomainNics } from '../../../src/network/domain-nics.js';
import { buildInterfaceXml } from '../../../src/network/nic-xml.js';
import { parseNetworkXml } from '../../../src/network/network-xml.js';
import { configWith } from '../storage/helpers.js';
import { refusalOf as refusal } from '../refusal.js';

// Firewall rules as requests write them, the libvirt filters they become and read back
// as, and the NIC elements that refer to them: no libvirt needed.


describe('allow rules', () => {
  test('each form parses and writes back canonically (sources as CIDR)', () => {
    const rules = parseAllowRules(' tcp/22, tcp/8000-8080@10.1.2.3/8 ,udp/53,icmp,all@192.168.1.5, udp/7-7, tcp', 'allow');
    expect(rules.map(formatAllowRule)).toEqual(['tcp/22', 'tcp/8000-8080@10.0.0.0/8', 'udp/53', 'icmp', 'all@192.168.1.5/32', 'udp/7', 'tcp']);
    expect(parseAllowRules('', 'allow')).toEqual([]);
  });

  test.each([
    'ftp/21', 'tcp/0', 'tcp/65536', 'tcp/9-8', 'icmp/8', 'all/80', 'tcp/22@10.0.0.0/33', 'tcp/22@host.example', 'tcp/22;reboot', 'tcp/22,tcp/22',
  ])('%j is refused, naming the input and the rule', (text) => {
    const error = refusal(() => parseAllowRules(text, 'allow'));
    expect(error.code).toBe('INPUT_INVALID');
    expect(error.details).toEqual({ input: 'allow' });
    expect(error.message).toContain("Input 'allow'");
  });

  test('at most 64 rules', () => {
    const many = Array.from({ length: 65 }, (_, index) => `tcp/${index + 1}`).join(',');
    expect(refusal(() => parseAllowRules(many, 'rules')).message).toContain('at most 64');
  });
});

describe('filters', () => {
  const rules = parseAllowRules('tcp/22, udp/5000-5010@10.0.0.0/8, icmp', 'allow');

  test("a rule set's filter holds its rules and reads back the same", () => {
    const xml = ruleSetFilterXml('hvagent-set-web', rules, null);
    expect(parseFilterXml(xml)).toEqual({ name: 'hvagent-set-web', uuid: null, references: [], allow: rules });
    expect(parseFilterXml(ruleSetFilterXml('hvagent-set-web', rules, 'u-1')).uuid).toBe('u-1');
  });

  test("a NIC's own filter: base, rule sets, rules, then guest-started traffic and DHCP answers pass and the rest inbound is dropped", () => {
    const xml = nicFilterXml('hvagent-nic-525400000001', { base: 'clean-traffic', ruleSets: ['hvagent-set-web'], allow: rules }, null);
    expect(parseFilterXml(xml)).toMatchObject({ references: ['clean-traffic', 'hvagent-set-web'], allow: rules });
    const tail = [...xml.matchAll(/<rule action="(\w+)" direction="(\w+)" priority="(\d+)">\s*<(\w+)/g)].map((match) => match.slice(1).join(' '));
    expect(tail.slice(-3)).toEqual(['accept out 800 all', 'accept in 800 udp', 'drop in 900 all']);
    // Allow rules come before the drop whatever filter holds them: libvirt orders a chain by priority.
    expect(tail.slice(0, 3).every((rule) => rule.includes(' 500 '))).toBe(true);
    expect(parseFilterXml(nicFilterXml('hvagent-nic-1', { base: null, ruleSets: [], allow: rules }, null)).references).toEqual([]);
  });

  test('nwfilter-list rows', () => {
    expect(parseFilterList(' UUID                                   Name\n------------------------------------------\n 032e0769-5be4-49d3-b022-ea2737e19726   allow-arp\n d5add376-81d9-4edb-bf7b-f39d8d391f82   clean-traffic\n\n')).toEqual(['allow-arp', 'clean-traffic']);
  });
});

describe("a NIC's firewall", () => {
  const config: HvConfig = configWith({});
  const qemu = VM_CLASSES.qemu;

  test('default base filter: clean-traffic unless hvagent.yaml says otherwise; none means none', () => {
    expect(parseNicFirewall(config, qemu, {}).base).toBe('clean-traffic');
    expect(parseNicFirewall({ ...config, firewall: { default_filter: 'clean-traffic-gateway' } }, qemu, {}).base).toBe('clean-traffic-gateway');
    expect(parseNicFirewall({ ...config, firewall: { default_filter: 'none' } }, qemu, {}).base).toBeNull();
    expect(parseNicFirewall(config, qemu, { filter: 'none' }).base).toBeNull();
    expect(parseNicFirewall(config, qemu, { filter: 'no-ip-spoofing' }).base).toBe('no-ip-spoofing');
  });

  test("hvagent's own filters and malformed names cannot be a base; rule set names are checked", () => {
    expect(refusal(() => parseNicFirewall(config, qemu, { filter: 'hvagent-set-web' })).details).toEqual({ input: 'filter' });
    expect(refusal(() => parseNicFirewall(config, qemu, { filter: '../x' })).details).toEqual({ input: 'filter' });
    expect(refusal(() => parseNicFirewall(config, qemu, { ruleSets: 'web,Web' })).details).toEqual({ input: 'rule_sets' });
    expect(refusal(() => parseNicFirewall(config, qemu, { ruleSets: 'web,web' })).details).toEqual({ input: 'rule_sets' });
  });

  test('containers take no filter: rules for one are UNSUPPORTED, and the default is none', () => {
    expect(parseNicFirewall(config, VM_CLASSES.lxc, {})).toEqual({ base: null, allow: [], ruleSets: [] });
    const error = refusal(() => parseNicFirewall(config, VM_CLASSES.lxc, { allow: 'tcp/22' }));
    expect([error.code, error.details]).toEqual(['UNSUPPORTED', { input: 'allow' }]);
  });

  test('a NIC without allow rules refers to its base directly; with them, to a filter of its own', () => {
    const mac = '52:54:00:ab:cd:ef';
    expect(filterRefOf(mac, parseNicFirewall(config, qemu, {}))).toEqual({ name: 'clean-traffic', parameters: {} });
    expect(filterRefOf(mac, parseNicFirewall(config, qemu, { filter: 'none' }))).toBeNull();
    expect(filterRefOf(mac, parseNicFirewall(config, qemu, { filter: 'none', ruleSets: 'web' }))).toEqual({ name: 'hvagent-nic-525400abcdef', parameters: {} });
    expect(nicFilterName(mac)).toBe('hvagent-nic-525400abcdef');
  });

  test('read back: the own filter says base, rules and rule sets; a plain reference says its filter', () => {
    const firewall = parseNicFirewall(config, qemu, { allow: 'tcp/22', ruleSets: 'web' });
    const own = parseFilterXml(nicFilterXml('hvagent-nic-1', { base: 'clean-traffic', ruleSets: ['hvagent-set-web'], allow: firewall.allow }, null));
    expect(firewallView('hvagent-nic-1', own)).toEqual({ filter: 'clean-traffic', allow: ['tcp/22'], rule_sets: ['web'] });
    expect(firewallView('hvagent-nic-1', own)).toEqual(viewOf(firewall));
    expect(firewallView('clean-traffic', undefined)).toEqual({ filter: 'clean-traffic', allow: [], rule_sets: [] });
  });

  test('a MAC reserved on its network learns its address from DHCP answers of that network alone', () => {
    const network = { ...parseNetworkXml(`<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' end='10.0.0.9'/><host mac='52:54:00:00:00:01' ip='10.0.0.5'/></dhcp></ip></network>`), active: true, autostart: true, persistent: true };
    expect(learningParameters(network, '52:54:00:00:00:01')).toEqual({ CTRL_IP_LEARNING: 'dhcp', DHCPSERVER: '10.0.0.1' });
    expect(learningParameters(network, '52:54:00:00:00:02')).toEqual({});
    expect(learningParameters(network, '52:54:00:00:00:02', true)).toEqual({ CTRL_IP_LEARNING: 'dhcp', DHCPSERVER: '10.0.0.1' });
    expect(learningParameters(undefined, '52:54:00:00:00:02')).toEqual({});
  });
});

describe('NIC elements', () => {
  test('a filter reference and its variables are built, escaped, and parsed back', () => {
    const xml = buildInterfaceXml({ source: { network: 'n' }, mac: '52:54:00:00:00:01', model: 'virtio', filter: { name: 'clean-traffic', parameters: { IP: `1'/><evil/>` } } });
    expect(xml).not.toContain('<evil');
    expect(parseDomainNics(`<domain><devices>${xml}</devices></domain>`)[0]).toMatchObject({ filter: 'clean-traffic' });
  });

  const live = `<domain type='qemu'><name>x</name><devices><disk type='file'/><interface type='network'>
      <mac address='52:54:00:AA:77:01'/><source network='n' portid='p' bridge='virbr9'/><target dev='vnet5'/><model type='virtio'/>
      <bandwidth><inbound average='1000'/></bandwidth>
      <filterref filter='clean-traffic'><parameter name='CTRL_IP_LEARNING' value='dhcp'/></filterref>
      <alias name='net0'/></interface><interface type='bridge'><mac address='52:54:00:aa:77:02'/><source bridge='br0'/></interface></devices></domain>`;

  test('update-device gets the NIC as it is, with only its filter changed (its variables kept unless new ones are given)', () => {
    const changed = interfaceWithFilter(live, '52:54:00:aa:77:01', { name: 'hvagent-nic-525400aa7701', parameters: {} })!;
    expect(parseDomainNics(`<domain><devices>${changed}</devices></domain>`)).toEqual([
      { mac: '52:54:00:aa:77:01', type: 'network', network: 'n', bridge: 'virbr9', model: 'virtio', device: 'vnet5', filter: 'hvagent-nic-525400aa7701' },
    ]);
    expect(changed).toContain('<inbound average="1000"/>');
    expect(changed).toContain('<alias name="net0"/>');
    expect(changed).toContain('name="CTRL_IP_LEARNING" value="dhcp"');
    const renamed = interfaceWithFilter(live, '52:54:00:aa:77:01', { name: 'clean-traffic', parameters: { IP: '10.0.0.5' } })!;
    expect(renamed).toContain('name="IP" value="10.0.0.5"');
    expect(renamed).not.toContain('CTRL_IP_LEARNING');
  });

  test('no filter: the reference goes; another NIC of the domain is untouched; an unknown MAC is undefined', () => {
    expect(interfaceWithFilter(live, '52:54:00:aa:77:01', { name: null, parameters: {} })).not.toContain('filterref');
    expect(interfaceWithFilter(live, '52:54:00:aa:77:02', { name: 'clean-traffic', parameters: {} })).toContain('<source bridge="br0"/>');
    expect(interfaceWithFilter(live, '52:54:00:aa:77:03', { name: 'clean-traffic', parameters: {} })).toBeUndefined();
  });
});
