import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// MCollective's actionpolicy files (choria-legacy/mcollective-actionpolicy-auth,
// util/actionpolicy.rb), one per agent: `<dir>/<agent>.policy`, callers grouped in
// `<dir>/groups`. The format is theirs, so one file serves MCollective, Choria and hvagent:
//
//   policy default deny
//   allow<TAB>uid=0 cert=ops<TAB>list info<TAB>country=uk<TAB>webserver
//   deny<TAB>*<TAB>delete<TAB>*
//
// Fields are TAB-separated; callers, actions, facts and classes are space-separated lists
// or `*`; the first rule that matches decides, else the default (deny when not given).
// Stricter than the Ruby plugin in two ways, both so that a mistake refuses rather than
// allows: a caller matches a listed id exactly (the plugin tests a substring, so `uid=5`
// also let in uid=500), and a line that cannot be read (or a compound fact expression,
// which hvagent does not evaluate) refuses the whole agent, naming the line, where the
// plugin skipped it with a warning.

export interface PolicyRule {
  allow: boolean;
  callers: string[] | '*';
  actions: string[] | '*';
  facts: string[] | '*';
  classes: string[] | '*';
  line: number;
}

export interface Policy {
  file: string;
  defaultAllow: boolean;
  rules: PolicyRule[];
  /** The first line that could not be read: the policy then refuses every request. */
  broken?: { line: number; reason: string };
}

export interface PolicyContext {
  caller: string;
  action: string;
  /** Read only when a rule that names facts is reached. */
  facts: () => Record<string, unknown>;
  classes: () => ReadonlySet<string>;
  groups: () => ReadonlyMap<string, readonly string[]>;
}

export type PolicyDecision = { allow: true; why: string } | { allow: false; why: string };

const RULE = /^(allow|deny)\t+(.+?)\t+(.+?)\t+(.+?)(?:\t+(.+?))?\s*$/;
const DEFAULT = /^policy\s+default\s+(\w+)\s*$/;
const COMPOUND = /^!|^not$|^or$|^and$|\(.+\)/;
const FACT = /^(.+?)(<=|>=|<|>|=)(.+)$/;

/** The policy file of an agent, or undefined when there is none. */
export function readPolicy(directory: string, agent: string): Policy | undefined {
  const file = join(directory, `${agent}.policy`);
  let text: string;
  try {
    // Read on every request; most agents have none: no exception (and its stack trace) for that.
    if (!statSync(file, { throwIfNoEntry: false })) return undefined;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { file, defaultAllow: false, rules: [], broken: { line: 0, reason: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` } };
  }
  return parsePolicy(file, text);
}

export function parsePolicy(file: string, text: string): Policy {
  const policy: Policy = { file, defaultAllow: false, rules: [] };
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!.replace(/\r$/, '');
    if (/^(#.*|\s*)$/.test(line)) continue;
    const number = index + 1;
    const defaultLine = DEFAULT.exec(line);
    if (defaultLine) {
      policy.defaultAllow = defaultLine[1] === 'allow';
      continue;
    }
    const rule = RULE.exec(line);
    if (!rule) {
      policy.broken ??= { line: number, reason: 'is neither "policy default allow|deny" nor a TAB-separated allow|deny rule' };
      continue;
    }
    const [, verdict, callers, actions, facts, classes] = rule;
    const parsed: PolicyRule = { allow: verdict === 'allow', callers: list(callers!), actions: list(actions!), ...factsAndClasses(facts!, classes), line: number };
    const compound = [parsed.facts, parsed.classes].some((items) => items !== '*' && items.some((item) => COMPOUND.test(item)));
    if (compound) policy.broken ??= { line: number, reason: 'uses a compound fact or class expression, which hvagent does not evaluate' };
    else policy.rules.push(parsed);
  }
  return policy;
}

export function evaluatePolicy(policy: Policy, context: PolicyContext): PolicyDecision {
  const name = policy.file;
  if (policy.broken) return { allow: false, why: `${name} line ${policy.broken.line} ${policy.broken.reason}` };
  for (const rule of policy.rules) {
    if (!callerMatches(rule.callers, context)) continue;
    if (rule.actions !== '*' && !rule.actions.includes(context.action)) continue;
    if (rule.facts !== '*' && !rule.facts.every((fact) => factHolds(fact, context.facts()))) continue;
    if (rule.classes !== '*' && !rule.classes.every((klass) => !FACT.test(klass) && context.classes().has(klass))) continue;
    return { allow: rule.allow, why: `${name} line ${rule.line}` };
  }
  return { allow: policy.defaultAllow, why: `the default of ${name}` };
}

/** Without a classes field the plugin reads the facts field as facts and classes mixed: a token without an operator is a class. */
function factsAndClasses(facts: string, classes: string | undefined): Pick<PolicyRule, 'facts' | 'classes'> {
  if (classes !== undefined) return { facts: list(facts), classes: list(classes) };
  const tokens = list(facts);
  if (tokens === '*') return { facts: '*', classes: '*' };
  const factTokens = tokens.filter((token) => FACT.test(token));
  const classTokens = tokens.filter((token) => !FACT.test(token));
  return { facts: factTokens.length > 0 ? factTokens : '*', classes: classTokens.length > 0 ? classTokens : '*' };
}

function list(field: string): string[] | '*' {
  const items = field.trim().split(/\s+/);
  return items.length === 1 && items[0] === '*' ? '*' : items;
}

function callerMatches(callers: string[] | '*', context: PolicyContext): boolean {
  if (callers === '*') return true;
  if (callers.includes(context.caller)) return true;
  // A name the groups file defines stands for its members.
  return callers.some((name) => context.groups().get(name)?.includes(context.caller));
}

/** `key=value`, `key<value` …: numbers compare as numbers, anything else as text. Dotted keys reach into nested facts. */
function factHolds(expression: string, facts: Record<string, unknown>): boolean {
  const match = FACT.exec(expression);
  if (!match) return false;
  const [, key, operator, expected] = match;
  const actual = key!.split('.').reduce<unknown>((value, part) => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined), facts);
  if (actual === undefined || actual === null || typeof actual === 'object') return false;
  const left = String(actual);
  const numeric = /^-?\d+(\.\d+)?$/;
  const [a, b] = numeric.test(left) && numeric.test(expected!) ? [Number(left), Number(expected)] : [left, expected!];
  switch (operator) {
    case '=':
      return a === b;
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    default:
      return a >= b;
  }
}

/** `<dir>/groups`: `name caller caller …` per line. */
export function readGroups(directory: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  let text = '';
  try {
    text = readFileSync(join(directory, 'groups'), 'utf8');
  } catch {
    return groups;
  }
  for (const line of text.split('\n')) {
    if (/^(#.*|\s*)$/.test(line)) continue;
    const [name, ...members] = line.trim().split(/\s+/);
    if (name && /^[\w.-]+$/.test(name) && members.length > 0) groups.set(name, members);
  }
  return groups;
}
