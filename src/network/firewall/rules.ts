import { HvError } from '../../core/errors.js';
import { formatSubnet, parseCidr, subnetOf, type Subnet } from '../ipv4.js';

// Inbound allow rules, as requests write them: `PROTOCOL[/PORT[-PORT]][@SOURCE]`, comma-
// separated, e.g. `tcp/22, tcp/8000-8080@10.0.0.0/8, udp/53, icmp, all@192.168.1.10`.
// A NIC with allow rules (its own or a named rule set's) takes new inbound IPv4 traffic
// only when a rule matches; what the guest starts, and the replies to it, always pass.

export type AllowProtocol = 'tcp' | 'udp' | 'icmp' | 'all';

export interface AllowRule {
  readonly protocol: AllowProtocol;
  /** tcp and udp only: destination ports on the guest, inclusive. */
  readonly ports?: { readonly from: number; readonly to: number };
  /** Only from this source (default: anywhere). */
  readonly source?: Subnet;
}

/** More than a NIC should need; each becomes an iptables rule in every chain of the NIC. */
export const MAX_RULES = 64;

const ENTRY = /^(tcp|udp|icmp|all)(?:\/(\d{1,5})(?:-(\d{1,5}))?)?(?:@([0-9./]+))?$/;

export function parseAllowRules(text: string, input: string): AllowRule[] {
  const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (entries.length > MAX_RULES) throw new HvError('INPUT_INVALID', `Input '${input}': ${entries.length} rules; at most ${MAX_RULES}`, { input });
  const rules = entries.map((entry) => parseRule(entry, input));
  const seen = new Set<string>();
  for (const rule of rules) {
    const text = formatAllowRule(rule);
    if (seen.has(text)) throw new HvError('INPUT_INVALID', `Input '${input}': rule ${text} is given twice`, { input });
    seen.add(text);
  }
  return rules;
}

function parseRule(entry: string, input: string): AllowRule {
  const refuse = (why: string) =>
    new HvError('INPUT_INVALID', `Input '${input}': '${entry}' ${why} (rules are PROTOCOL[/PORT[-PORT]][@SOURCE], e.g. tcp/22, udp/5000-5010@10.0.0.0/8, icmp)`, { input });
  const match = ENTRY.exec(entry);
  if (!match) throw refuse('is not a rule');
  const protocol = match[1] as AllowProtocol;
  let ports: AllowRule['ports'];
  if (match[2] !== undefined) {
    if (protocol !== 'tcp' && protocol !== 'udp') throw refuse(`gives a port, but ${protocol} has none`);
    const from = Number(match[2]);
    const to = match[3] === undefined ? from : Number(match[3]);
    if (from < 1 || to > 65535 || from > to) throw refuse('has a port outside 1-65535 or a range that ends before it starts');
    ports = { from, to };
  }
  let source: Subnet | undefined;
  if (match[4] !== undefined) {
    const cidr = parseCidr(match[4]);
    if (!cidr) throw refuse('has a source that is not an IPv4 address or ADDRESS/PREFIX');
    source = subnetOf(cidr.address, cidr.prefix);
  }
  return { protocol, ...(ports && { ports }), ...(source && { source }) };
}

/** The rule as requests write it (sources in their canonical CIDR form). */
export function formatAllowRule(rule: AllowRule): string {
  const ports = rule.ports ? `/${rule.ports.from}${rule.ports.to === rule.ports.from ? '' : `-${rule.ports.to}`}` : '';
  return `${rule.protocol}${ports}${rule.source ? `@${formatSubnet(rule.source)}` : ''}`;
}
