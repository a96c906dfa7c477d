import { readFileSync } from 'node:fs';
import type { HvConfig } from '../config/schema.js';
import type { ActionDdl } from '../ddl/types.js';
import { HvError } from '../core/errors.js';
import type { RpcRequest } from '../core/request.js';
import { evaluatePolicy, readGroups, readPolicy } from './policy.js';

/**
 * The authorization hook, after validation and before anything runs (docs/AUTHORIZATION.md):
 * a disabled agent and, on a read-only host, a mutating action are refused; then the first
 * configuration rule whose caller/agent/action globs match may refuse or allow, and the
 * agent's actionpolicy file, when there is one, must allow as well. A request that neither
 * allowed is let through unless `default_deny` is set, because the transport (MCollective's
 * or Choria's own authorization) may be the gate a site relies on.
 */
export function authorize(request: RpcRequest, action: ActionDdl, config: HvConfig): void {
  const target = `${request.agent}#${request.action}`;
  const { authorization } = config;
  if (config.agents.disabled.includes(request.agent)) {
    throw new HvError('NOT_AUTHORIZED', `Agent '${request.agent}' is disabled on this host`);
  }
  if (action.mutating && authorization.read_only) {
    throw new HvError('NOT_AUTHORIZED', `This host is read-only: ${target} changes state and is refused`);
  }
  const caller = request.callerid ?? '';
  const who = `Caller '${caller || 'unknown'}'`;
  let allowed = false;
  for (const rule of authorization.rules) {
    if (matches(rule.caller, caller) && matches(rule.agent, request.agent) && matches(rule.action, request.action)) {
      if (!rule.allow) throw new HvError('NOT_AUTHORIZED', `${who} is not authorized to call ${target}`, { by: 'rule' });
      allowed = true;
      break;
    }
  }
  const directory = authorization.policy_dir;
  const policy = directory ? readPolicy(directory, request.agent) : undefined;
  if (policy) {
    const decision = evaluatePolicy(policy, {
      caller,
      action: request.action,
      facts: () => readFacts(request.factsFile ?? authorization.facts_file),
      classes: () => readClasses(authorization.classes_file),
      groups: () => readGroups(directory!),
    });
    if (!decision.allow) throw new HvError('NOT_AUTHORIZED', `${who} is not authorized to call ${target} (${decision.why})`, { by: 'policy' });
    allowed = true;
  }
  if (!allowed && authorization.default_deny) {
    throw new HvError('NOT_AUTHORIZED', `${who} is not authorized to call ${target}: no rule or policy allows it, and this host denies by default`, { by: 'default' });
  }
}

function matches(glob: string | undefined, value: string): boolean {
  if (glob === undefined || glob === '*') return true;
  const pattern = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*');
  return new RegExp(`^${pattern}$`).test(value);
}

/** A rule on facts that cannot be read refuses, rather than being passed over: a skipped deny would allow. */
function readFacts(file: string | undefined): Record<string, unknown> {
  if (!file) throw new HvError('NOT_AUTHORIZED', 'A policy rule names facts, but no facts file is configured (authorization.facts_file)');
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    return readYamlFacts(file);
  }
  throw new HvError('NOT_AUTHORIZED', `A policy rule names facts, but ${file} holds no map of facts`);
}

/** MCollective's facts.yaml: flat `key: value` lines (the yaml parser is kept off the request path). */
function readYamlFacts(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new HvError('NOT_AUTHORIZED', `A policy rule names facts, but ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const facts: Record<string, unknown> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z0-9_.-]+):\s*(?:"(.*)"|'(.*)'|(.*?))\s*$/.exec(line);
    if (match) facts[match[1]!] = match[2] ?? match[3] ?? match[4];
  }
  return facts;
}

function readClasses(file: string | undefined): Set<string> {
  const path = file ?? '/var/lib/puppet/state/classes.txt';
  try {
    return new Set(readFileSync(path, 'utf8').split('\n').map((line) => line.trim()).filter(Boolean));
  } catch (error) {
    throw new HvError('NOT_AUTHORIZED', `A policy rule names classes, but ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
