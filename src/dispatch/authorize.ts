import type { HvConfig } from '../config/schema.js';
import type { ActionDdl } from '../ddl/types.js';
import { HvError } from '../core/errors.js';
import type { RpcRequest } from '../core/request.js';

/**
 * The authorization hook: read-only hosts refuse mutating actions; then the first
 * rule whose caller/agent/action globs all match decides. No matching rule allows,
 * because the transport (MCollective/Choria RPC authorization) is the primary gate.
 */
export function authorize(request: RpcRequest, action: ActionDdl, config: HvConfig): void {
  const target = `${request.agent}#${request.action}`;
  if (config.agents.disabled.includes(request.agent)) {
    throw new HvError('NOT_AUTHORIZED', `Agent '${request.agent}' is disabled on this host`);
  }
  if (action.mutating && config.authorization.read_only) {
    throw new HvError('NOT_AUTHORIZED', `This host is read-only: ${target} changes state and is refused`);
  }
  const caller = request.callerid ?? '';
  for (const rule of config.authorization.rules) {
    if (matches(rule.caller, caller) && matches(rule.agent, request.agent) && matches(rule.action, request.action)) {
      if (rule.allow) return;
      throw new HvError('NOT_AUTHORIZED', `Caller '${caller || 'unknown'}' is not authorized to call ${target}`);
    }
  }
}

function matches(glob: string | undefined, value: string): boolean {
  if (glob === undefined || glob === '*') return true;
  const pattern = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*');
  return new RegExp(`^${pattern}$`).test(value);
}
