import type { AgentRegistry, Recovery } from '../agents/contract.js';
import { loadConfig, reloadConfig } from '../config/load.js';
import type { HvConfig } from '../config/schema.js';
import { HvError, toHvError } from '../core/errors.js';
import { errorReply, okReply, type Reply, type ReplyData } from '../core/reply.js';
import { parseRequestText, type Protocol, type RpcRequest } from '../core/request.js';
import { RequestScope, runInScope } from '../core/scope.js';
import { findAction, findAgent } from '../ddl/registry.js';
import type { ActionDdl, AgentDdl } from '../ddl/types.js';
import { validateInputs } from '../ddl/validate.js';
import { deadIntents } from '../files/intents.js';
import { onLockTaken } from '../files/locks.js';
import { authorize } from './authorize.js';
import { deadlineFor, type Deadline } from './deadline.js';
import { newJobId, startJob, type JobOptions, type JobTracker } from './job-tracker.js';
import { RunningRequests, type RunningRequest } from './running.js';

// request → validate → authorize → handler → reply, for every protocol. The dispatcher is
// handed its agents (main.ts wires them), keeps the requests it runs findable by id so
// that one can be cancelled, and can reload the configuration for a long-running process.

export interface DispatcherOptions {
  /** The agents and their actions: the only handlers this dispatcher can run. */
  readonly agents: AgentRegistry;
  /** Where the configuration comes from (default: hvagent.yaml, read once per process). */
  readonly config?: () => Promise<HvConfig>;
  /** Re-reads the configuration (default: hvagent.yaml again). */
  readonly reload?: () => Promise<HvConfig>;
  /** Loads what finishes killed requests' work (src/recovery/); none: nothing is recovered. */
  readonly recovery?: () => Promise<Recovery>;
}

export interface Dispatcher {
  /** Never throws: every failure is a reply. */
  handle(request: RpcRequest, options?: JobOptions): Promise<Reply>;
  /** Parses a request text first; the request is returned too when it parsed (stdio echoes its requestid). */
  handleText(text: string, protocol: Protocol): Promise<{ reply: Reply; request?: RpcRequest }>;
  /** The requests running now. */
  running(): RunningRequest[];
  find(id: string): RunningRequest | undefined;
  /** Cancels a running request (its children killed, its action undoing what it made); false when none runs with that id. */
  cancel(id: string, by?: string): boolean;
  /**
   * Cancels every running request because the process was told to stop (SIGTERM, SIGINT):
   * each undoes what it made within its grace period and replies CANCELLED. Returns how many.
   */
  interrupt(signal: string): number;
  /** Reads the configuration again; the running requests keep the one they started with. */
  reloadConfig(): Promise<HvConfig>;
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { agents } = options;
  const configOf = options.config ?? (() => loadConfig());
  const reload = options.reload ?? (() => reloadConfig());
  const running = new RunningRequests();

  // Before anything else, a request finishes what killed requests left half-made: every dead
  // intent at its start (a sweep: what fails waits for the next request), and those naming
  // a lock it takes, once it holds it (it may have waited for that lock while its holder was
  // killed). Both cost one readdir of the journal when there is nothing to do.
  const recoverFirst = async (config: HvConfig): Promise<void> => {
    const { recovery } = options;
    if (!recovery) return;
    const directory = config.paths.lock_dir;
    onLockTaken(async (key) => {
      if (deadIntents(directory, key).length > 0) await (await recovery())(config, key);
    });
    if (deadIntents(directory).length > 0) await (await recovery())(config).catch(() => undefined);
  };

  const handle = async (request: RpcRequest, progress: JobOptions = {}): Promise<Reply> => {
    let outputs: string[] = [];
    let job: JobTracker | undefined;
    try {
      const { agent, action } = resolve(request);
      outputs = Object.keys(action.output);
      const inputs = validateInputs(agent, action, request.data);
      const config = await configOf();
      authorize(request, action, config);
      const load = agents[request.agent]?.[request.action];
      if (!load) throw new HvError('ACTION_UNKNOWN', `Action ${request.agent}#${request.action} is not implemented`);
      const handler = await load();
      const deadline = deadlineFor(agent.metadata.timeout);
      job = startJob(request, config, inputs, progress);
      const { report } = job;
      const scope = new RequestScope();
      const id = runningId(request, running);
      running.add({ id, agent: request.agent, action: request.action, caller: request.callerid ?? null, protocol: request.protocol, startedAt: new Date(), scope });
      let data: ReplyData;
      try {
        data = await runCancellable(scope, deadline, async () => {
          await recoverFirst(config);
          return handler({ request, inputs, config, signal: scope.signal, deadline: deadline.at, progress: report });
        });
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
    async handleText(text, protocol) {
      let request: RpcRequest;
      try {
        request = parseRequestText(text, protocol);
      } catch (error) {
        return { reply: errorReply(toHvError(error)) };
      }
      return { reply: await handle(request), request };
    },
    running: () => running.list(),
    find: (id) => running.find(id),
    cancel: (id, by) => running.cancel(id, by),
    interrupt: (signal) => running.interruptAll(signal),
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
