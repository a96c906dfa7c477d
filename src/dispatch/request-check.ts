import { HvError } from '../core/errors.js';
import type { RpcRequest } from '../core/request.js';
import { ASYNC_INPUT } from '../ddl/async.js';
import { agentEntry, type AgentEntry } from '../ddl/registry.js';
import type { ActionDdl } from '../ddl/types.js';
import { validateInputs, type Inputs } from '../ddl/validate.js';

// What dispatch decides from the DDL alone, before the configuration is read: the agent and
// action a request names, and whether its inputs are valid. A per-request process refused
// here loads nothing else (dispatch/front.ts; P1, docs/PERFORMANCE.md).

/**
 * The request's agent, action and inputs as the DDL takes them; an unknown agent or action,
 * or invalid inputs, throw at once rather than reject: a promise rejected before anything
 * awaits it sets off Node's unhandled-rejection bookkeeping, compiled and run on every
 * refused request.
 */
export function checkRequest(request: RpcRequest): { agent: AgentEntry; action: ActionDdl; inputs: Inputs } {
  const agent = agentEntry(request.agent);
  if (!agent) throw new HvError('AGENT_UNKNOWN', `Unknown agent '${request.agent}'`);
  const action = agent.action(request.action);
  if (!action) {
    throw new HvError('ACTION_UNKNOWN', `Unknown action '${request.action}' for agent '${request.agent}'; actions: ${agent.actionNames.join(', ')}`);
  }
  return { agent, action, inputs: validateInputs(agent, action, request.data) };
}

/** `async: true` in the request's data: the fleets' way to ask (an input of every mutating action). */
export function wantsAsync(request: RpcRequest): boolean {
  const data = request.data as Record<string, unknown> | null | undefined;
  return typeof data === 'object' && data !== null && data[ASYNC_INPUT] === true;
}

/** The declared outputs of the action a request names, when it names one (a failed reply still holds them all). */
export function outputNames(request: RpcRequest): string[] {
  const action = actionOf(request);
  return action ? Object.keys(action.output) : [];
}

/** The action's DDL, for a reply that is already an error: a DDL that cannot be loaded (the refusal says why) is none. */
export function actionOf(request: RpcRequest): ActionDdl | undefined {
  try {
    return agentEntry(request.agent)?.action(request.action);
  } catch {
    return undefined;
  }
}
