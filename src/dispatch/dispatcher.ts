import { ACTION_HANDLERS } from '../agents/index.js';
import { loadConfig } from '../config/load.js';
import { findAction, findAgent } from '../ddl/registry.js';
import type { ActionDdl, AgentDdl } from '../ddl/types.js';
import { validateInputs } from '../ddl/validate.js';
import { authorize } from './authorize.js';
import { deadlineFor } from './deadline.js';
import { HvError, toHvError } from '../core/errors.js';
import { startJob, type JobOptions, type JobTracker } from './job-tracker.js';
import { errorReply, okReply, type Reply, type ReplyData } from '../core/reply.js';
import { parseRequestText, type Protocol, type RpcRequest } from '../core/request.js';
import { RequestScope, runInScope } from '../core/scope.js';

/** request → validate → authorize → dispatch → reply. Never throws: every failure is a reply. */
export async function handleRequestText(text: string, protocol: Protocol): Promise<Reply> {
  return (await answerRequestText(text, protocol)).reply;
}

/** The reply, and the request it answers when the text parsed as one (stdio echoes its requestid). */
export async function answerRequestText(text: string, protocol: Protocol): Promise<{ reply: Reply; request?: RpcRequest }> {
  let request: RpcRequest;
  try {
    request = parseRequestText(text, protocol);
  } catch (error) {
    return { reply: errorReply(toHvError(error)) };
  }
  return { reply: await handleRequest(request), request };
}

export async function handleRequest(request: RpcRequest, progress: JobOptions = {}): Promise<Reply> {
  let outputs: string[] = [];
  let job: JobTracker | undefined;
  try {
    const { agent, action } = resolve(request);
    outputs = Object.keys(action.output);
    const inputs = validateInputs(agent, action, request.data);
    const config = await loadConfig();
    authorize(request, action, config);
    const handler = await loadHandler(request);
    const deadline = deadlineFor(agent.metadata.timeout);
    job = startJob(request, config, inputs, progress);
    const { report } = job;
    const data = await runWithDeadline(deadline, (signal) =>
      handler({ request, inputs, config, signal, deadline: deadline.at, progress: report }),
    );
    job.finish({ ok: true });
    return okReply(withEveryOutput(data, outputs));
  } catch (error) {
    const failure = toHvError(error);
    job?.finish({ ok: false, code: failure.code, message: failure.message });
    return errorReply(failure, outputs);
  }
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

async function loadHandler(request: RpcRequest) {
  const load = ACTION_HANDLERS[request.agent]?.[request.action];
  if (!load) throw new HvError('ACTION_UNKNOWN', `Action ${request.agent}#${request.action} is not implemented`);
  return load();
}

async function runWithDeadline(
  deadline: { at: number; ms: number; graceMs: number },
  work: (signal: AbortSignal) => Promise<ReplyData>,
): Promise<ReplyData> {
  const scope = new RequestScope();
  let timedOut: HvError | undefined;
  const timers: NodeJS.Timeout[] = [];
  // At the deadline the action is cancelled (its children killed) but may still be
  // undoing what it did (provisioning rollback): it gets the grace period to finish
  // that before the error reply goes out and the process may exit.
  const abandoned = new Promise<never>((_, reject) => {
    const untilDeadline = Math.max(0, deadline.at - Date.now());
    timers.push(
      setTimeout(() => {
        timedOut = new HvError('DEADLINE_EXCEEDED', `Gave up after ${deadline.ms} ms, before the agent's timeout`, { deadline_ms: deadline.ms });
        scope.cancel(timedOut);
      }, untilDeadline),
      setTimeout(() => reject(timedOut), untilDeadline + deadline.graceMs),
    );
  });
  try {
    return await Promise.race([runInScope(scope, () => work(scope.signal)), abandoned]);
  } catch (error) {
    throw timedOut ?? error;
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

/** Every declared output is present, null when unknown (protocols.md checklist 16). */
function withEveryOutput(data: ReplyData, outputs: readonly string[]): ReplyData {
  const complete: ReplyData = {};
  for (const name of outputs) complete[name] = data[name] ?? null;
  for (const [name, value] of Object.entries(data)) if (!(name in complete)) complete[name] = value;
  return complete;
}
