import type { ActionHandler, AgentRegistry } from '../agents/contract.js';
import { loadConfig, reloadConfig } from '../config/load.js';
import type { HvConfig } from '../config/schema.js';
import { HvError, toHvError } from '../core/errors.js';
import { errorReply, okReply, type Reply, type ReplyData } from '../core/reply.js';
import { parseRequestText, type Protocol, type RpcRequest } from '../core/request.js';
import { RequestScope, runInScope } from '../core/scope.js';
import { findAction, findAgent } from '../ddl/registry.js';
import type { ActionDdl, AgentDdl } from '../ddl/types.js';
import { validateInputs, type Inputs } from '../ddl/validate.js';
import { auditRecord, settleAudit, writeAudit, type AuditState } from './audit.js';
import { authorize } from './authorize.js';
import { establishCaller } from './caller.js';
import { lookUp, replayable, replyKey } from './idempotency.js';
import { deadlineFor, type Deadline } from './deadline.js';
import { newJobId, startJob, type JobOptions, type JobTracker } from './job-tracker.js';
import { RunningRequests, type RunningRequest } from './running.js';

// request → caller → validate → authorize → replay or handler → reply → audit line, for every protocol. The dispatcher is
// handed its agents (main.ts wires them), keeps the requests it runs findable by id so
// that one can be cancelled, and can reload the configuration for a long-running process.

export interface DispatcherOptions {
  /** The agents and their actions: the only handlers this dispatcher can run. */
  readonly agents: AgentRegistry;
  /** Where the configuration comes from (default: hvagent.yaml, read once per process). */
  readonly config?: () => Promise<HvConfig>;
  /** Re-reads the configuration (default: hvagent.yaml again). */
  readonly reload?: () => Promise<HvConfig>;
}

export interface Dispatcher {
  /** Never throws: every failure is a reply. */
  handle(request: RpcRequest, options?: JobOptions): Promise<Reply>;
  /** Parses a request text first; the request is returned too when it parsed (stdio echoes its requestid). */
  handleText(text: string, protocol: Protocol, factsFile?: string): Promise<{ reply: Reply; request?: RpcRequest }>;
  /** The requests running now. */
  running(): RunningRequest[];
  find(id: string): RunningRequest | undefined;
  /** Cancels a running request (its children killed, its action undoing what it made); false when none runs with that id. */
  cancel(id: string, by?: string): boolean;
  /** Reads the configuration again; the running requests keep the one they started with. */
  reloadConfig(): Promise<HvConfig>;
  /**
   * Why the audit log could not be written, once per process (then undefined): the adapter
   * shows it where its protocol's output is not harmed.
   */
  auditWarning(): string | undefined;
  /** Audit lines this process could not write. */
  auditFailures(): number;
  /** Waits briefly for audit lines still on their way to syslog: before a per-request process exits. */
  settle(): Promise<void>;
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { agents } = options;
  const configOf = options.config ?? (() => loadConfig());
  const reload = options.reload ?? (() => reloadConfig());
  const running = new RunningRequests();

  const audit: AuditState = { failures: 0 };
  /** The line of a request that ended, with the caller as trusted (a request refused before that still gets it). */
  const record = async (request: RpcRequest | undefined, action: ActionDdl | undefined, reply: Reply, startedAt: number, protocol: Protocol, replayed = false, established = false) => {
    const config = await configOf().catch(() => undefined);
    const trusted = request && config && !established ? establishCaller(request, config) : request;
    writeAudit(config?.audit, auditRecord(trusted, action, reply, startedAt, protocol, replayed), audit);
  };

  const handle = async (received: RpcRequest, progress: JobOptions = {}): Promise<Reply> => {
    const startedAt = Date.now();
    let request = received;
    let established = false;
    let action: ActionDdl | undefined;
    let replayed = false;
    let reply: Reply;
    try {
      const resolved = resolve(request);
      action = resolved.action;
      const inputs = validateInputs(resolved.agent, action, request.data);
      const config = await configOf();
      request = establishCaller(request, config);
      established = true;
      authorize(request, action, config);
      const load = agents[request.agent]?.[request.action];
      if (!load) throw new HvError('ACTION_UNKNOWN', `Action ${request.agent}#${request.action} is not implemented`);
      const handler = await load();
      const deadline = deadlineFor(resolved.agent.metadata.timeout);
      const run = () => execute(request, resolved.action, inputs, config, handler, deadline, progress);
      if (replayable(request, action, config)) {
        const { withLock, lockKey } = await import('../files/locks.js');
        const key = lockKey.reply(replyKey(request));
        reply = await withLock(key, { directory: config.paths.lock_dir, deadline: deadline.at }, async () => {
          const replay = lookUp(request, resolved.action, inputs, config);
          if (replay.kept) {
            replayed = true;
            return replay.kept;
          }
          const first = await run();
          replay.keep(first);
          return first;
        });
      } else reply = await run();
    } catch (error) {
      reply = errorReply(toHvError(error), action ? Object.keys(action.output) : []);
    }
    await record(request, action, reply, startedAt, request.protocol, replayed, established);
    return reply;
  };

  /** Runs a request that passed every check, under its deadline; its job record gets the outcome. Never throws. */
  const execute = async (request: RpcRequest, action: ActionDdl, inputs: Inputs, config: HvConfig, handler: ActionHandler, deadline: Deadline, progress: JobOptions): Promise<Reply> => {
    const outputs = Object.keys(action.output);
    let job: JobTracker | undefined;
    try {
      job = startJob(request, config, inputs, progress);
      const { report } = job;
      const scope = new RequestScope();
      const id = runningId(request, running);
      running.add({ id, agent: request.agent, action: request.action, caller: request.callerid ?? null, protocol: request.protocol, startedAt: new Date(), scope });
      let data: ReplyData;
      try {
        data = await runCancellable(scope, deadline, () => handler({ request, inputs, config, signal: scope.signal, deadline: deadline.at, progress: report }));
      } finally {
        running.remove(id);
      }
      job.finish({ ok: true });
      return okReply(withEveryOutput(data, outputs));
    } catch (error) {
      const failure = toHvError(error);
      job?.finish({ ok: false, code: failure.code, message: failure.message });
      return errorReply(failure, outputs);
    }
  };

  return {
    handle,
    async handleText(text, protocol, factsFile) {
      let request: RpcRequest;
      const startedAt = Date.now();
      try {
        request = parseRequestText(text, protocol);
        if (factsFile) request.factsFile = factsFile;
      } catch (error) {
        // Refused before it named anything: recorded too, with what little is known.
        const reply = errorReply(toHvError(error));
        await record(undefined, undefined, reply, startedAt, protocol);
        return { reply };
      }
      return { reply: await handle(request), request };
    },
    auditWarning: () => {
      const warning = audit.warning;
      audit.warning = undefined;
      return warning;
    },
    auditFailures: () => audit.failures,
    settle: settleAudit,
    running: () => running.list(),
    find: (id) => running.find(id),
    cancel: (id, by) => running.cancel(id, by),
    reloadConfig: reload,
  };
}

function resolve(request: RpcRequest): { agent: AgentDdl; action: ActionDdl } {
  const agent = findAgent(request.agent);
  if (!agent) throw new HvError('AGENT_UNKNOWN', `Unknown agent '${request.agent}'`);
  const action = findAction(agent, request.action);
  if (!action) {
    const known = agent.actions.map((candidate) => candidate.action).join(', ');
    throw new HvError('ACTION_UNKNOWN', `Unknown action '${request.action}' for agent '${request.agent}'; actions: ${known}`);
  }
  return { agent, action };
}

/** The request's own id when no running request holds it, else a new one. */
function runningId(request: RpcRequest, running: RunningRequests): string {
  const wanted = request.requestid;
  return wanted && !running.has(wanted) ? wanted : newJobId();
}

/**
 * Runs the action in its request scope until it ends, or until the deadline or a cancel
 * ends it: its children are killed at once, but it may still be undoing what it did
 * (provisioning rollback), so it gets the grace period to finish that before the error
 * reply goes out and the process may exit.
 */
async function runCancellable(scope: RequestScope, deadline: Deadline, work: () => Promise<ReplyData>): Promise<ReplyData> {
  const timers: NodeJS.Timeout[] = [];
  let stopped: HvError | undefined;
  const abandoned = new Promise<never>((_, reject) => {
    const giveUp = (reason: HvError) => {
      stopped ??= reason;
      timers.push(setTimeout(() => reject(stopped), deadline.graceMs));
    };
    scope.signal.addEventListener('abort', () => giveUp(toHvError(scope.signal.reason)), { once: true });
    timers.push(
      setTimeout(() => {
        const reason = new HvError('DEADLINE_EXCEEDED', `Gave up after ${deadline.ms} ms, before the agent's timeout`, { deadline_ms: deadline.ms });
        stopped ??= reason;
        scope.cancel(reason);
      }, Math.max(0, deadline.at - Date.now())),
    );
  });
  try {
    return await Promise.race([runInScope(scope, work), abandoned]);
  } catch (error) {
    throw stopped ?? error;
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

/** Every declared output is present, null when unknown (docs/reference/protocols.md checklist 16). */
function withEveryOutput(data: ReplyData, outputs: readonly string[]): ReplyData {
  const complete: ReplyData = {};
  for (const name of outputs) complete[name] = data[name] ?? null;
  for (const [name, value] of Object.entries(data)) if (!(name in complete)) complete[name] = value;
  return complete;
}
