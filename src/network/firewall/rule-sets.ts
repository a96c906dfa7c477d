import type { HvConfig } from '../../config/schema.js';
import { HvError } from '../../core/errors.js';
import type { OperationContext } from '../../core/operation.js';
import { lockKey, withLock, withLocks } from '../../files/locks.js';
import { macsInUse } from '../mac.js';
import { formatAllowRule, parseAllowRules } from './rules.js';
import { ruleSetFilterXml, type FilterDefinition } from './filter-xml.js';
import { defineFilter, isNicFilter, listFilterNames, readFilter, readFilters, ruleSetFilterName, ruleSetOf, RULE_SET_NAME, undefineFilter } from './filters.js';
import { compareText } from '../../core/text-order.js';

// Named rule sets: allow lists kept as libvirt filters (`hvagent-set-<name>`) that NICs
// refer to. Redefining one changes the rules of every NIC that uses it, running guests
// included, at once. One that a NIC uses cannot be deleted; its lock keeps a NIC from
// starting to use it meanwhile.

export interface RuleSetView {
  readonly name: string;
  /** The libvirt filter that holds it. */
  readonly filter: string;
  readonly rules: string[];
  /** The NICs using it: `vm mac` (a MAC no VM has any more: just the MAC). */
  readonly used_by: string[];
}

export function assertRuleSetName(name: string, input = 'name'): string {
  if (!RULE_SET_NAME.test(name)) {
    throw new HvError('INPUT_INVALID', `Input '${input}': '${name}' is not a rule set name (lowercase letters, digits, '_' and '-', starting with a letter, at most 32)`, { input });
  }
  return name;
}

/** Holds the locks of the named rule sets while `work` makes NICs refer to them. */
export function withRuleSetLocks<T>(config: HvConfig, ruleSets: readonly string[], deadline: number, work: () => Promise<T>): Promise<T> {
  const keys = [...new Set(ruleSets)].sort().map((set) => lockKey.filter(ruleSetFilterName(set)));
  return withLocks(keys, { directory: config.paths.lock_dir, deadline }, work);
}

export async function listRuleSets(config: HvConfig, signal: AbortSignal): Promise<RuleSetView[]> {
  const uri = config.libvirt.uri;
  const names = await listFilterNames(uri, signal);
  const sets = names.filter((name) => ruleSetOf(name) !== undefined);
  const [definitions, users] = await Promise.all([readFilters(uri, sets, signal), ruleSetUsers(config, names, signal)]);
  return definitions.flatMap((definition) => (definition ? [view(definition, users)] : [])).sort((a, b) => compareText(a.name, b.name));
}

/** Defines a rule set, or replaces its rules (live on every NIC using it); the same rules again are no change. */
export function defineRuleSet(config: HvConfig, name: string, rulesText: string, ctx: OperationContext): Promise<{ ruleSet: RuleSetView; changed: boolean }> {
  assertRuleSetName(name);
  const rules = parseAllowRules(rulesText, 'rules');
  if (rules.length === 0) throw new HvError('INPUT_INVALID', "Input 'rules': a rule set needs at least one rule", { input: 'rules' });
  const uri = config.libvirt.uri;
  const filter = ruleSetFilterName(name);
  return withLock(lockKey.filter(filter), { directory: config.paths.lock_dir, deadline: ctx.deadline }, async () => {
    const existing = await readFilter(uri, filter, ctx.signal);
    const wanted = rules.map(formatAllowRule);
    const changed = !existing || JSON.stringify(existing.allow.map(formatAllowRule)) !== JSON.stringify(wanted);
    if (changed) await defineFilter(uri, filter, (uuid) => ruleSetFilterXml(filter, rules, uuid), ctx.signal);
    const users = await ruleSetUsers(config, await listFilterNames(uri, ctx.signal), ctx.signal);
    return { ruleSet: { name, filter, rules: wanted, used_by: users.get(filter) ?? [] }, changed };
  });
}

/** Removes a rule set no NIC uses; one that is not there is no change. */
export function deleteRuleSet(config: HvConfig, name: string, ctx: OperationContext): Promise<{ changed: boolean }> {
  assertRuleSetName(name);
  const uri = config.libvirt.uri;
  const filter = ruleSetFilterName(name);
  return withLock(lockKey.filter(filter), { directory: config.paths.lock_dir, deadline: ctx.deadline }, async () => {
    const users = (await ruleSetUsers(config, await listFilterNames(uri, ctx.signal), ctx.signal)).get(filter) ?? [];
    if (users.length > 0) {
      throw new HvError('CONFLICT', `Rule set '${name}' is used by ${users.join(', ')}: take it off those NICs first (firewall nic_set)`, { rule_set: name, used_by: users });
    }
    return { changed: await undefineFilter(uri, filter, ctx.signal) };
  });
}

/** Rule set filter → the NICs whose own filters refer to it (`vm mac`). */
async function ruleSetUsers(config: HvConfig, filterNames: readonly string[], signal: AbortSignal): Promise<Map<string, string[]>> {
  const nicFilters = filterNames.filter(isNicFilter);
  if (nicFilters.length === 0) return new Map();
  const [definitions, owners] = await Promise.all([readFilters(config.libvirt.uri, nicFilters, signal), macsInUse(config, signal)]);
  const users = new Map<string, string[]>();
  for (const definition of definitions) {
    if (!definition) continue;
    const mac = macOfNicFilter(definition.name);
    const owner = owners.get(mac);
    for (const reference of definition.references.filter((ref) => ruleSetOf(ref) !== undefined)) {
      users.set(reference, [...(users.get(reference) ?? []), owner ? `${owner} ${mac}` : mac].sort());
    }
  }
  return users;
}

function macOfNicFilter(filter: string): string {
  return (filter.slice(-12).match(/../g) ?? []).join(':');
}

function view(definition: FilterDefinition, users: Map<string, string[]>): RuleSetView {
  return { name: ruleSetOf(definition.name)!, filter: definition.name, rules: definition.allow.map(formatAllowRule), used_by: users.get(definition.name) ?? [] };
}
