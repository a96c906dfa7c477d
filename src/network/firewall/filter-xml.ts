import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { ipv4ToNumber, numberToIpv4, subnetOf } from '../ipv4.js';
import type { AllowProtocol, AllowRule } from './rules.js';

// libvirt nwfilter XML for hvagent's two kinds of filter, built from structures (never
// concatenated) and read back:
//   - a named rule set, `hvagent-set-<name>`: its allow rules, nothing else;
//   - a NIC's own filter, `hvagent-nic-<mac>`: the base filter (clean-traffic by default),
//     the rule sets it uses, its own allow rules, then what makes them an allow list:
//     traffic the guest starts (and the replies) passes, DHCP answers reach it, and any
//     other inbound IPv4 is dropped.
// Rules of a chain run in priority order whatever filter they come from: allow rules at
// 500 come before the final drop at 900.

export const ALLOW_PRIORITY = 500;
const PASS_PRIORITY = 800;
const DROP_PRIORITY = 900;

export interface NicFilterContent {
  /** The filter under the rules (clean-traffic, …), or null for none. */
  readonly base: string | null;
  /** libvirt names of the rule sets' filters. */
  readonly ruleSets: readonly string[];
  readonly allow: readonly AllowRule[];
}

/** A filter as read back: its references and its allow rules (hvagent's other rules are not reported). */
export interface FilterDefinition {
  readonly name: string;
  readonly uuid: string | null;
  readonly references: string[];
  readonly allow: AllowRule[];
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true });

function allowRuleElement(rule: AllowRule) {
  const match: Record<string, string | number> = {};
  if (rule.ports) {
    match['@_dstportstart'] = rule.ports.from;
    if (rule.ports.to !== rule.ports.from) match['@_dstportend'] = rule.ports.to;
  }
  if (rule.source) {
    match['@_srcipaddr'] = numberToIpv4(rule.source.network);
    match['@_srcipmask'] = rule.source.prefix;
  }
  return { '@_action': 'accept', '@_direction': 'in', '@_priority': ALLOW_PRIORITY, [rule.protocol]: match };
}

function filterXml(name: string, uuid: string | null, references: readonly string[], rules: readonly object[]): string {
  return builder.build({
    filter: {
      '@_name': name,
      '@_chain': 'root',
      ...(uuid && { uuid }),
      ...(references.length > 0 && { filterref: references.map((filter) => ({ '@_filter': filter })) }),
      ...(rules.length > 0 && { rule: rules }),
    },
  }) as string;
}

export function ruleSetFilterXml(name: string, rules: readonly AllowRule[], uuid: string | null): string {
  return filterXml(name, uuid, [], rules.map(allowRuleElement));
}

export function nicFilterXml(name: string, content: NicFilterContent, uuid: string | null): string {
  const tail = [
    { '@_action': 'accept', '@_direction': 'out', '@_priority': PASS_PRIORITY, all: {} },
    { '@_action': 'accept', '@_direction': 'in', '@_priority': PASS_PRIORITY, udp: { '@_srcportstart': 67, '@_dstportstart': 68 } },
    { '@_action': 'drop', '@_direction': 'in', '@_priority': DROP_PRIORITY, all: {} },
  ];
  const references = [...(content.base ? [content.base] : []), ...content.ruleSets];
  return filterXml(name, uuid, references, [...content.allow.map(allowRuleElement), ...tail]);
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'rule' || name === 'filterref',
});

type Node = Record<string, unknown>;
const node = (value: unknown): Node => (typeof value === 'object' && value !== null ? (value as Node) : {});
const attribute = (value: unknown, name: string): string | undefined => {
  const found = node(value)[`@_${name}`];
  return typeof found === 'string' ? found : undefined;
};
const PROTOCOLS: AllowProtocol[] = ['tcp', 'udp', 'icmp', 'all'];

export function parseFilterXml(xml: string): FilterDefinition {
  const filter = node(parser.parse(xml).filter);
  const uuid = filter.uuid;
  return {
    name: attribute(filter, 'name') ?? '',
    uuid: typeof uuid === 'string' ? uuid : null,
    references: ((filter.filterref as unknown[] | undefined) ?? []).flatMap((ref) => attribute(ref, 'filter') ?? []),
    allow: ((filter.rule as unknown[] | undefined) ?? []).flatMap((rule) => {
      if (attribute(rule, 'action') !== 'accept' || attribute(rule, 'direction') !== 'in' || attribute(rule, 'priority') !== String(ALLOW_PRIORITY)) return [];
      const protocol = PROTOCOLS.find((candidate) => candidate in node(rule));
      return protocol ? [allowRuleOf(protocol, node(node(rule)[protocol]))] : [];
    }),
  };
}

function allowRuleOf(protocol: AllowProtocol, match: Node): AllowRule {
  const from = attribute(match, 'dstportstart');
  const to = attribute(match, 'dstportend') ?? from;
  const source = attribute(match, 'srcipaddr');
  const address = source === undefined ? undefined : ipv4ToNumber(source);
  return {
    protocol,
    ...(from !== undefined && { ports: { from: Number(from), to: Number(to) } }),
    ...(address !== undefined && { source: subnetOf(address, Number(attribute(match, 'srcipmask') ?? 32)) }),
  };
}
