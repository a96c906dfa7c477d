import type { AgentRegistry } from '../agents/contract.js';
import { refusalSettings, type RefusalSettings } from '../config/refusal.js';
import { toHvError } from '../core/errors.js';
import { errorReply, type Reply } from '../core/reply.js';
import type { Protocol, RpcRequest } from '../core/request.js';
import type { AuditState } from './audit.js';
import type { HandleOptions, RequestDispatcher } from './contract.js';
import type { Dispatcher, DispatcherOptions } from './dispatcher.js';
import { answering, recordRequest } from './record.js';
import { checkRequest, outputNames, wantsAsync } from './request-check.js';

export interface RequestDispatcherOptions extends Omit<DispatcherOptions, 'agents'> {
  /** The agents, loaded once a request has passed validation: a refusal never needs them. */
  readonly agents: () => Promise<AgentRegistry>;
}

/**
 * The dispatcher of a per-request process (main.ts). An external agent is started once per
 * request on every host, and its commonest request is one the DDL refuses: that one is
 * parsed, validated, answered and audited here, with the agent's DDL piece and the audit
 * settings alone (config/refusal.ts). Whatever passes validation goes to the dispatcher
 * itself (dispatch/dispatcher.ts: configuration, caller, authorization, replay, job
 * records, the handler), loaded then, in the build's actions piece, with the agents
 * (P1, docs/PERFORMANCE.md).
 */
export function createRequestDispatcher(options: RequestDispatcherOptions): RequestDispatcher {
  const audit: AuditState = options.auditState ?? { failures: 0 };
  let loaded: Promise<Dispatcher> | undefined;
  let ready: Dispatcher | undefined;
  const dispatcher = () => (loaded ??= load());
  const load = async (): Promise<Dispatcher> => {
    const [{ createDispatcher }, agents] = await Promise.all([import('./dispatcher.js'), options.agents()]);
    return (ready = createDispatcher({ ...options, agents, auditState: audit }));
  };
  const settingsOf: () => Promise<RefusalSettings> = options.config ?? (() => refusalSettings());

  /** The audit line of a request refused before dispatch established its caller. */
  const record = async (request: RpcRequest | undefined, reply: Reply, startedAt: number, protocol: Protocol, caller?: string): Promise<void> => {
    const settings = await settingsOf().catch(() => undefined);
    recordRequest(settings, request, { trusted: false, startedAt, protocol, caller }, reply, { state: audit, write: options.audit !== false });
  };

  const handle = async (request: RpcRequest, handleOptions: HandleOptions = {}): Promise<Reply> => {
    // An operation is refused by the dispatcher, which says why it cannot run here.
    if (handleOptions.async || wantsAsync(request)) return (await dispatcher()).handle(request, handleOptions);
    const startedAt = Date.now();
    try {
      checkRequest(request);
    } catch (error) {
      const reply = errorReply(toHvError(error), outputNames(request));
      await record(request, reply, startedAt, request.protocol);
      options.onFinished?.(request, undefined, reply);
      return reply;
    }
    return (await dispatcher()).handle(request, handleOptions);
  };

  // Nothing runs before the dispatcher is loaded: a stop signal then has nothing to undo.
  return { ...answering(handle, record, audit), interrupt: (signal) => ready?.interrupt(signal) ?? 0 };
}
