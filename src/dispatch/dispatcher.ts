import type { ActionHandler, AgentRegistry, Recovery } from '../agents/contract.js';
import { loadConfig, reloadConfig } from '../config/load.js';
import type { HvConfig } from '../config/schema.js';
import { HvError, toHvError } from '../core/errors.js';
import type { Operation, Operations } from '../core/operations.js';
import { errorReply, okReply, type Reply, type ReplyData } from '../core/reply.js';
import type { Protocol, RpcRequest } from '../core/request.js';
import { RequestScope, runInScope } from '../core/scope.js';
import type { AgentEntry } from '../ddl/registry.js';
import type { ActionDdl } from '../ddl/types.js';
import type { Inputs } from '../ddl/validate.js';
import type { AuditState } from './audit.js';
import type { HandleOptions, RequestDispatcher } from './contract.js';
import { authorize } from './authorize.js';
import { establishCaller } from './caller.js';
import { answering, recordRequest } from './record.js';
import { checkRequest, outputNames, wantsAsync } from './request-check.js';
import { lookUp, replayable, replyKey } from './idempotency.js';
import { deadlineFor, operationDeadline, type Deadline } from './deadline.js';
import { newJobId, startJob, type JobOptions, type JobTracker } from './job-tracker.js';
import { JOB_ID, readJob } from './job-records.js';
import { OperationStore } from './operations.js';
import type { ReadCache } from './read-cache.js';
import { RunningRequests, type RunningRequest } from './running.js';

export type { HandleOptions, RequestDispatcher } from './contract.js';

// request → validate → caller → authorize → replay or handler → reply → audit line, for
// every protocol. The dispatcher is handed its agents (main.ts wires them), keeps the
// requests it runs findable by id so that one can be cancelled, and can reload the
// configuration for a long-running process. A per-request process reaches it through
// dispatch/front.ts, which refuses invalid requests without loading it.

export interface DispatcherOptions {
  /** The agents and their actions: the only handlers this dispatcher can run. */
  readonly agents: AgentRegistry;
  /** Where the configuration comes from (default: hvagent.yaml, read once per process). */
  readonly config?: () => Promise<HvConfig>;
  /** Re-reads the configuration (default: hvagent.yaml again). */
  readonly reload?: () => Promise<HvConfig>;
  /** Loads what finishes killed requests' work (src/recovery/); none: nothing is recovered. */
  readonly recovery?: () => Promise<Recovery>;
  /**
   * This process outlives its requests (`hvagent serve`): it may run operations, requests
   * detached from their caller. A per-request process refuses `async`: nothing would be
   * left to finish the work once it has replied.
   */
  readonly detached?: boolean;
  /** Told when a request has ended. */
  readonly onFinished?: (request: RpcRequest, action: ActionDdl | undefined, reply: Reply) => void;
  /** Warm reads (the server): replies of reads served again until a change; a mutating request ending drops them. */
  readonly readCache?: ReadCache;
  /** false: audit lines are made but not written (the warm-up of the code caches runs requests that nobody sent). */
  readonly audit?: boolean;
  /** The audit failures counted so far (dispatch/front.ts shares its own); default: this dispatcher's. */
  readonly auditState?: AuditState;
}

export interface Dispatcher extends RequestDispatcher {
  /**
   * Starts a request as an operation: refused at once (validation, authorization) like a
   * synchronous one, else it runs on with the operations deadline and the reply names it.
   */
  submit(request: RpcRequest, options?: JobOptions): Promise<{ reply: Reply; operation?: Operation }>;
  /** Validates and authorizes a request without running it (throws the refusal): for routes that read dispatch's own state. */
  check(request: RpcRequest): Promise<Inputs>;
  /** The operations of this host: those running here, and the records in paths.jobs_dir. */
  readonly operations: Operations & Pick<OperationStore, 'subscribe' | 'prune'>;
  /** The requests running now. */
  running(): RunningRequest[];
  find(id: string): RunningRequest | undefined;
  /** Cancels a running request (its children killed, its action undoing what it made); false when none runs with that id. */
  cancel(id: string, by?: string): boolean;
  /** Reads the configuration again; the running requests keep the one they started with. */
  reloadConfig(): Promise<HvConfig>;
}

/** A request that has passed every check and may run. */
interface Prepared {
  readonly agent: AgentEntry;
  readonly action: ActionDdl;
  readonly inputs: Inputs;
  readonly config: HvConfig;
  readonly handler: ActionHandler;
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { agents } = options;
  const configOf = options.config ?? (() => loadConfig());
  const reload = options.reload ?? (() => reloadConfig());
  const running = new RunningRequests();
  let current: HvConfig | undefined;
  // Made on first use: a request refused by validation, the per-request executable's
  // commonest, never needs it (start-up is paid on every request).
  let store: OperationStore | undefined;
  const operations = () =>
    (store ??= new OperationStore({
      jobsDir: () => current?.paths.jobs_dir ?? '/run/hvagent/jobs',
      runsHere: (id) => running.has(id),
      cancel: (id, by) => running.cancel(id, by),
      retentionMs: () => (current?.operations.retention_s ?? 86_400) * 1000,
    }));
  const remember = (config: HvConfig) => (current = config);
  const audit: AuditState = options.auditState ?? { failures: 0 };

  /** The line of a request that ended, with the caller as trusted (a request refused before that still gets it). */
  const record = async (request: RpcRequest | undefined, reply: Reply, startedAt: number, protocol: Protocol, replayed = false, caller?: string, started?: HvConfig): Promise<void> => {
    // A request that ran is recorded under the configuration it started with (no second look at it).
    const config = started ?? (await configOf().catch(() => undefined));
    const trusted = request !== undefined && trustedRequests.has(request);
    recordRequest(config, request, { trusted, startedAt, protocol, replayed, caller }, reply, { state: audit, write: options.audit !== false });
  };
  /** Requests whose caller dispatch has already established (establishing twice would lose what the body claimed). */
  const trustedRequests = new WeakSet<RpcRequest>();

  /** Validated, with its caller established and authorized: `request` is the trusted one to run. */
  const prepare = (received: RpcRequest): Promise<Prepared & { request: RpcRequest }> => {
    const { agent, action, inputs } = checkRequest(received);
    return authorizeAndLoad(received, agent, action, inputs);
  };

  const authorizeAndLoad = async (received: RpcRequest, agent: AgentEntry, action: ActionDdl, inputs: Inputs): Promise<Prepared & { request: RpcRequest }> => {
    const config = remember(await configOf());
    const request = establishCaller(received, config);
    trustedRequests.add(request);
    authorize(request, action, config);
    const load = agents[request.agent]?.[request.action];
    if (!load) throw new HvError('ACTION_UNKNOWN', `Action ${request.agent}#${request.action} is not implemented`);
    return { agent, action, inputs, config, handler: await load(), request };
  };

  /** Runs a prepared request to its end under its deadline; the job record gets the outcome. */
  const execute = async (request: RpcRequest, prepared: Prepared, id: string, deadline: Deadline, job: JobTracker, signal?: AbortSignal, terminal = false): Promise<Reply> => {
    const outputs = Object.keys(prepared.action.output);
    const scope = new RequestScope();
    running.add({ id, agent: request.agent, action: request.action, caller: request.callerid ?? null, protocol: request.protocol, startedAt: new Date(), scope });
    const callerGone = () => running.cancel(id, signal?.reason instanceof Error ? signal.reason.message : 'its caller, who went away');
    if (signal?.aborted) callerGone();
    signal?.addEventListener('abort', callerGone, { once: true });
    try {
      const { inputs, config, handler } = prepared;
      const data = await runCancellable(scope, deadline, async () => {
        if (options.recovery) await (await import('./recover-first.js')).recoverFirst(config, options.recovery);
        return handler({ request, inputs, config, signal: scope.signal, deadline: deadline.at, progress: job.report, operations: operations(), terminal });
      });
      const complete = withEveryOutput(data, outputs);
      job.finish({ ok: true, result: complete });
      return okReply(complete);
    } catch (error) {
      const failure = toHvError(error);
      job.finish({ ok: false, code: failure.code, message: failure.message, details: failure.details });
      return errorReply(failure, outputs);
    } finally {
      signal?.removeEventListener('abort', callerGone);
      running.remove(id);
    }
  };

  const withRecords = (jobOptions: JobOptions): JobOptions => ({
    ...jobOptions,
    retentionMs: (current?.operations.retention_s ?? 86_400) * 1000,
    onRecord: (record) => {
      operations().record(record);
      jobOptions.onRecord?.(record);
    },
  });

  /**
   * A read its handler answers at once from what the server keeps (handler.readWarm, e.g.
   * `host info`: kept facts and free memory read by pread): as a warm read from the cache
   * is, without the request scope, deadline timers and job a request that runs needs, which
   * cost a server woken for it more than the answer (P6, docs/PERFORMANCE.md).
   */
  const answeredWarm = (request: RpcRequest, prepared: Prepared): Reply | undefined => {
    const data = prepared.handler.readWarm?.({ request, inputs: prepared.inputs, config: prepared.config });
    return data && okReply(withEveryOutput(data, Object.keys(prepared.action.output)));
  };

  const finished = (request: RpcRequest, action: ActionDdl | undefined, reply: Reply): Reply => {
    if (action?.mutating) options.readCache?.invalidate();
    options.onFinished?.(request, action, reply);
    return reply;
  };

  const submit = async (received: RpcRequest, jobOptions: JobOptions = {}): Promise<{ reply: Reply; operation?: Operation }> => {
    const startedAt = Date.now();
    let prepared: Prepared;
    let request = received;
    try {
      ({ request, ...prepared } = await prepare(received));
      if (!options.detached) {
        throw new HvError('UNSUPPORTED', 'async needs hvagent serve running on this host (its socket was not found): start it (systemctl start hvagent, or hvagent serve), or call without async');
      }
    } catch (error) {
      const reply = errorReply(toHvError(error), outputNames(received));
      await record(request, reply, startedAt, received.protocol);
      return { reply };
    }
    const id = operationId(request, running, prepared.config.paths.jobs_dir);
    const job = startJob(request, prepared.config, prepared.inputs, withRecords({ ...jobOptions, jobId: id, operation: true }));
    const deadline = operationDeadline(prepared.config.operations.timeout_s);
    // The line is written when the operation ends: its outcome, not the acceptance.
    void execute(request, prepared, id, deadline, job).then(async (reply) => {
      await record(request, reply, startedAt, request.protocol);
      finished(request, prepared.action, reply);
    });
    const operation = operations().get(id)!;
    const data: ReplyData = Object.fromEntries(Object.keys(prepared.action.output).map((name) => [name, null]));
    data.job_id = id;
    return { reply: { statuscode: 0, statusmsg: `Accepted: job ${id} (job status id=${id}, job wait id=${id})`, data }, operation };
  };

  const handle = async (received: RpcRequest, jobOptions: HandleOptions = {}): Promise<Reply> => {
    if (jobOptions.async || wantsAsync(received)) return (await submit(received, jobOptions)).reply;
    const startedAt = Date.now();
    let prepared: Prepared;
    let request: RpcRequest;
    try {
      ({ request, ...prepared } = await prepare(received));
    } catch (error) {
      const reply = errorReply(toHvError(error), outputNames(received));
      await record(received, reply, startedAt, received.protocol);
      return finished(received, undefined, reply);
    }
    const terminal = jobOptions.terminal === true;
    // A person at a terminal ends an interactive session: the transport's timeout does not
    // apply, and progress lines would only garble the session.
    const interactive = terminal && prepared.handler.interactive === true;
    const run = () => {
      const id = runningId(request, running);
      const job = startJob(request, prepared.config, prepared.inputs, withRecords(interactive ? {} : jobOptions));
      const deadline = interactive ? UNBOUNDED : deadlineFor(prepared.agent.metadata.timeout);
      return execute(request, prepared, id, deadline, job, jobOptions.signal, terminal);
    };
    let replayed = false;
    let reply: Reply;
    try {
      if (replayable(request, prepared.action, prepared.config)) {
        const { withLock, lockKey } = await import('../files/locks.js');
        const deadline = deadlineFor(prepared.agent.metadata.timeout);
        // A retry that arrives while the first delivery runs waits here for its reply.
        reply = await withLock(lockKey.reply(replyKey(request)), { directory: prepared.config.paths.lock_dir, deadline: deadline.at }, async () => {
          const replay = lookUp(request, prepared.action, prepared.inputs, prepared.config);
          if (replay.kept) {
            replayed = true;
            return replay.kept;
          }
          const first = await run();
          replay.keep(first);
          return first;
        });
      } else if (options.readCache && !prepared.action.mutating) {
        reply = answeredWarm(request, prepared) ?? (await options.readCache.read(request.agent, request.action, prepared.inputs, run));
      } else reply = await run();
    } catch (error) {
      reply = errorReply(toHvError(error), Object.keys(prepared.action.output));
    }
    await record(request, reply, startedAt, request.protocol, replayed, undefined, prepared.config);
    return finished(request, prepared.action, reply);
  };

  return {
    ...answering(handle, (request, reply, startedAt, protocol, caller) => record(request, reply, startedAt, protocol, false, caller), audit),
    submit,
    check: async (request) => (await prepare(request)).inputs,
    get operations() {
      return operations();
    },
    running: () => running.list(),
    find: (id) => running.find(id),
    cancel: (id, by) => running.cancel(id, by),
    interrupt: (signal) => running.interruptAll(signal),
    reloadConfig: async () => remember(await reload()),
  };
}

const UNBOUNDED: Deadline = { ms: Infinity, at: Infinity, graceMs: 0 };

/** The request's own id when it can name a record that does not exist yet, else a new one. */
function operationId(request: RpcRequest, running: RunningRequests, jobsDir: string): string {
  const wanted = request.requestid;
  return wanted && JOB_ID.test(wanted) && !running.has(wanted) && !readJob(jobsDir, wanted) ? wanted : newJobId();
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
  let graceOver = false;
  const abandoned = new Promise<never>((_, reject) => {
    const giveUp = (reason: HvError) => {
      stopped ??= reason;
      timers.push(
        setTimeout(() => {
          graceOver = true;
          reject(stopped);
        }, deadline.graceMs),
      );
    };
    scope.signal.addEventListener('abort', () => giveUp(toHvError(scope.signal.reason)), { once: true });
    scope.onHurry(() => {
      graceOver = true;
      reject(stopped);
    });
    if (Number.isFinite(deadline.at)) {
      timers.push(
        setTimeout(() => {
          const reason = new HvError('DEADLINE_EXCEEDED', `Gave up after ${deadline.ms} ms, before the agent's timeout`, { deadline_ms: deadline.ms });
          stopped ??= reason;
          scope.cancel(reason);
        }, Math.max(0, deadline.at - Date.now())),
      );
    }
  });
  try {
    return await Promise.race([runInScope(scope, work), abandoned]);
  } catch (error) {
    if (!stopped) throw error;
    throw undoneOrNot(stopped, graceOver ? undefined : error, graceOver);
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

/** The reason a request stopped, saying what its rollback could not do (or did not have time to). */
function undoneOrNot(stopped: HvError, ended: unknown, graceOver: boolean): HvError {
  const left = ended === undefined ? undefined : toHvError(ended).details?.left_behind;
  if (!graceOver && !Array.isArray(left)) return stopped;
  const what = graceOver
    ? 'its rollback was still running when the reply was due; the next request that touches the same things finishes it'
    : `rollback could not remove: ${(left as string[]).join('; ')} (the next request that touches it finishes the rollback)`;
  return new HvError(stopped.code, `${stopped.message}; ${what}`, { ...stopped.details, ...(Array.isArray(left) && { left_behind: left }) }, { cause: stopped });
}

/** Every declared output is present, null when unknown (docs/reference/protocols.md checklist 16). */
function withEveryOutput(data: ReplyData, outputs: readonly string[]): ReplyData {
  const complete: ReplyData = {};
  for (const name of outputs) complete[name] = data[name] ?? null;
  for (const [name, value] of Object.entries(data)) if (!(name in complete)) complete[name] = value;
  return complete;
}
