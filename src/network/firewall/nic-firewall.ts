import type { HvConfig } from '../../config/schema.js';
import { HvError } from '../../core/errors.js';
import type { VmClass } from '../../model/vm-classes.js';
import type { NetworkFound } from '../libvirt-networks.js';
import { formatAllowRule, parseAllowRules, type AllowRule } from './rules.js';
import { nicFilterXml, type FilterDefinition } from './filter-xml.js';
import { defineFilter, isHvagentFilter, isNicFilter, listFilterNames, nicFilterName, ruleSetFilterName, ruleSetOf } from './filters.js';
import { assertRuleSetName } from './rule-sets.js';

// A NIC's firewall as a request states it: the base filter (the configured default,
// clean-traffic unless hvagent.yaml says otherwise; another libvirt filter; or none), and
// inbound allow rules of its own and from named rule sets. A NIC with no allow rules
// refers to its base filter directly; one with allow rules gets a filter of its own,
// `hvagent-nic-<mac>`, that holds the base, the rule sets and its rules (filter-xml.ts).

export interface NicFirewallRequest {
  /** `default`, `none`, or the name of a libvirt network filter. */
  readonly filter?: string;
  /** Inbound allow rules (rules.ts). */
  readonly allow?: string;
  /** Named rule sets, comma-separated. */
  readonly ruleSets?: string;
}

export interface NicFirewall {
  readonly base: string | null;
  /** The request named the base filter (the configured default is not looked up on every request). */
  readonly baseNamed?: boolean;
  readonly allow: readonly AllowRule[];
  readonly ruleSets: readonly string[];
}

/** The <filterref> of a NIC: the filter and the variables it is given (libvirt's IP learning, …). */
export interface FilterRef {
  readonly name: string;
  readonly parameters: Readonly<Record<string, string>>;
}

/** How a NIC's firewall reads in replies. */
export interface FirewallView {
  readonly filter: string | null;
  readonly allow: string[];
  readonly rule_sets: string[];
}

export function defaultFilter(config: HvConfig): string | null {
  const configured = config.firewall?.default_filter ?? 'clean-traffic';
  return configured === 'none' ? null : configured;
}

/** The request's firewall, its syntax checked (nothing read yet); the class must be able to filter. */
export function parseNicFirewall(config: HvConfig, vmClass: VmClass, request: NicFirewallRequest): NicFirewall {
  const allow = request.allow === undefined ? [] : parseAllowRules(request.allow, 'allow');
  const ruleSets = request.ruleSets === undefined ? [] : request.ruleSets.split(',').map((name) => assertRuleSetName(name.trim(), 'rule_sets'));
  if (new Set(ruleSets).size !== ruleSets.length) throw new HvError('INPUT_INVALID', "Input 'rule_sets' names a rule set twice", { input: 'rule_sets' });
  const asked = request.filter ?? 'default';
  if (asked !== 'default' && asked !== 'none' && (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(asked) || isHvagentFilter(asked))) {
    throw new HvError('INPUT_INVALID', `Input 'filter': '${asked}' is not a filter hvagent can put under a NIC (default, none, or a libvirt filter such as clean-traffic)`, { input: 'filter' });
  }
  if (!vmClass.nicFilters) {
    const input = request.allow !== undefined ? 'allow' : request.ruleSets !== undefined ? 'rule_sets' : asked !== 'default' && asked !== 'none' ? 'filter' : undefined;
    if (input) throw new HvError('UNSUPPORTED', `Input '${input}': NICs of vm_class ${vmClass.name} cannot carry a network filter (docs/NETWORKS.md)`, { input });
    return { base: null, allow: [], ruleSets: [] };
  }
  const named = asked !== 'default' && asked !== 'none';
  return { base: named ? asked : asked === 'default' ? defaultFilter(config) : null, ...(named && { baseNamed: true }), allow, ruleSets };
}

/**
 * The filters a request names must exist (one virsh process: the list of filters). The
 * configured default is not looked up: a NIC with the defaults costs no process here, and
 * a default that does not exist fails the define, which is undone like any failure.
 */
export async function checkNicFirewall(uri: string, firewall: NicFirewall, signal?: AbortSignal): Promise<void> {
  if (!firewall.baseNamed && firewall.ruleSets.length === 0) return;
  const names = new Set(await listFilterNames(uri, signal));
  if (firewall.baseNamed && firewall.base !== null && !names.has(firewall.base)) {
    throw new HvError('NOT_FOUND', `Input 'filter': no network filter named '${firewall.base}' on this host (virsh nwfilter-list)`, { input: 'filter' });
  }
  const missing = firewall.ruleSets.filter((set) => !names.has(ruleSetFilterName(set)));
  if (missing.length > 0) throw new HvError('NOT_FOUND', `Input 'rule_sets': no rule set named ${missing.join(', ')} (firewall list)`, { input: 'rule_sets', rule_sets: missing });
}

export function needsOwnFilter(firewall: NicFirewall): boolean {
  return firewall.allow.length > 0 || firewall.ruleSets.length > 0;
}

/**
 * How the filter learns the NIC's address. A MAC with a DHCP reservation on its network
 * gets its address from DHCP: libvirt then learns it from the DHCP answer alone, trusting
 * only the network's own server. Otherwise libvirt's default applies (the first address
 * seen), which a guest sending from another address at once could claim (measured: a
 * guest spoofing from boot had the spoofed address learned).
 */
export function learningParameters(network: NetworkFound | undefined, mac: string, reserving = false): Record<string, string> {
  const reserved = reserving || (network?.dhcp_hosts.some((host) => host.mac === mac) ?? false);
  return reserved && network?.address ? { CTRL_IP_LEARNING: 'dhcp', DHCPSERVER: network.address } : {};
}

/** The <filterref> a NIC with this firewall carries, or null for none. */
export function filterRefOf(mac: string, firewall: NicFirewall, parameters: Readonly<Record<string, string>> = {}): FilterRef | null {
  const name = needsOwnFilter(firewall) ? nicFilterName(mac) : firewall.base;
  return name === null ? null : { name, parameters };
}

/** Defines (or redefines, live) the NIC's own filter; returns the definition it replaced. */
export function defineNicFilter(uri: string, mac: string, firewall: NicFirewall, signal?: AbortSignal): Promise<string | undefined> {
  const name = nicFilterName(mac);
  const content = { base: firewall.base, ruleSets: firewall.ruleSets.map(ruleSetFilterName), allow: firewall.allow };
  return defineFilter(uri, name, (uuid) => nicFilterXml(name, content, uuid), signal);
}

/** A NIC's firewall as read back from its <filterref> and, for its own filter, that filter's definition. */
export function firewallView(filterRef: string | null, own: FilterDefinition | undefined): FirewallView {
  if (filterRef === null || !isNicFilter(filterRef)) return { filter: filterRef, allow: [], rule_sets: [] };
  const references = own?.references ?? [];
  return {
    filter: references.find((reference) => ruleSetOf(reference) === undefined) ?? null,
    allow: (own?.allow ?? []).map(formatAllowRule),
    rule_sets: references.flatMap((reference) => ruleSetOf(reference) ?? []),
  };
}

/** How a requested firewall reads in replies (what firewallView will read back once it is made). */
export function viewOf(firewall: NicFirewall): FirewallView {
  const own = needsOwnFilter(firewall);
  return { filter: firewall.base, allow: own ? firewall.allow.map(formatAllowRule) : [], rule_sets: own ? [...firewall.ruleSets] : [] };
}
