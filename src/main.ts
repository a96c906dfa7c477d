import { writeSync } from 'node:fs';
import { loadRecovery } from './agents/recovery/actions.js';
import { toHvError } from './core/errors.js';
import { answerServer, withServer } from './adapter/server.js';
import type { RequestDispatcher } from './dispatch/dispatcher.js';
import { createRequestDispatcher } from './dispatch/front.js';
import { terminalChildRunning } from './process/terminal.js';

// The composition root: the dispatcher is handed every agent here, and the adapter the
// environment asks for is handed the dispatcher.
//
// One executable, every protocol: the environment says who is calling.
//   CHORIA_EXTERNAL_PROTOCOL set  → Choria external agent
//   MCOLLECTIVE_REQUEST_FILE set  → MCollective 2.12 external script (via our Ruby runner)
//   otherwise                     → command line (including `rpc` for stdio JSON, `serve` for REST)
// Where `hvagent serve` runs, the per-request protocols hand their request to it
// (adapter/handoff.ts); the check is one stat(2) of its socket.

/** Every agent (agents/index.ts), loaded once a request has passed validation. */
const agents = async () => (await import('./agents/index.js')).AGENTS;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const env = process.env;
  if (args[0] === 'serve' && !env.CHORIA_EXTERNAL_PROTOCOL && !env.MCOLLECTIVE_REQUEST_FILE) return serve(args);
  const dispatcher = await withServer(createRequestDispatcher({ agents, recovery: loadRecovery }), args, env);
  stopOnSignals(dispatcher);
  const served = await answerServer(env, args, dispatcher);
  if (served !== undefined) process.exit(served);
  return commandLine(args, dispatcher);
}

// serve and the command line are functions of their own: main is compiled on every request
// (the code cache cannot hold it: the warm-up never runs it), so it is kept short.

async function serve(args: string[]): Promise<void> {
  const { runServe } = await import('./adapter/rest/serve.js');
  const { createDispatcher } = await import('./dispatch/dispatcher.js');
  const registry = await agents();
  // The server drains on SIGTERM itself (adapter/rest/serve.ts), then cancels and undoes.
  process.exit(await runServe(args, (options) => createDispatcher({ agents: registry, recovery: loadRecovery, ...options })));
}

async function commandLine(args: string[], dispatcher: RequestDispatcher): Promise<void> {
  const { runCommandLine } = await import('./adapter/cli.js');
  return runCommandLine(args, dispatcher);
}

/**
 * SIGTERM (the MCollective runner's kill, an operator, a service manager) and SIGINT stop
 * the running requests the way the deadline does: children killed, what was made undone
 * within the grace period, a CANCELLED reply written; then the adapter exits as after any
 * reply. With nothing running there is nothing to undo: it ends at once, as by default.
 */
function stopOnSignals(dispatcher: RequestDispatcher): void {
  for (const [signal, number] of [
    ['SIGTERM', 15],
    ['SIGINT', 2],
  ] as const) {
    process.on(signal, () => {
      // The terminal's interrupt key belongs to an interactive child (vm console) while it runs.
      if (signal === 'SIGINT' && terminalChildRunning()) return;
      if (dispatcher.interrupt(signal) === 0) process.exit(128 + number);
    });
  }
}

/** What main could not answer goes to stderr; a function of its own, compiled only when it happens. */
function fail(error: unknown): void {
  const failure = toHvError(error);
  writeSync(2, `hvagent: ${failure.message}\n`);
  process.exit(failure.statuscode || 1);
}

const hooks = globalThis as Record<symbol, unknown>;
const asksForWarmUp = hooks[Symbol.for('hvagent.warmup')] as ((work: (refusalDone: () => void) => Promise<void>) => void) | undefined;
/** bench/startup-snapshot.sh's snapshot builder takes the run for later (docs/PERFORMANCE.md, P1: the V8 start-up snapshot). */
const takesRun = hooks[Symbol.for('hvagent.snapshot')] as ((run: () => void, warmRefusal: () => Promise<void>) => void) | undefined;
// scripts/loader.cjs, writing the V8 code caches, asks for a warm-up instead of a run
// (warm-refusal.ts, then main's cache is written, then warm-up.ts).
if (asksForWarmUp) {
  asksForWarmUp(async (refusalDone) => {
    await (await import('./warm-refusal.js')).warmRefusal(agents);
    refusalDone();
    await (await import('./warm-up.js')).warmUp();
  });
} else if (takesRun) {
  takesRun(() => void main().catch(fail), async () => (await import('./warm-refusal.js')).warmRefusal(agents));
} else {
  main().catch(fail);
}
