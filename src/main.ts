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

/**
 * Set while the warm-up calls main, stopOnSignals and exitWith once, each returning at once:
 * V8 then compiles them into main's code cache, where nothing else would put them (the
 * warm-up runs its refusal without them), and a request no longer compiles them (~0.2 M
 * instructions).
 */
let compileOnly = false;

async function main(): Promise<void> {
  if (compileOnly) return;
  const args = process.argv.slice(2);
  const env = process.env;
  if (args[0] === 'serve' && !env.CHORIA_EXTERNAL_PROTOCOL && !env.MCOLLECTIVE_REQUEST_FILE) return serve(args);
  const dispatcher = await withServer(createRequestDispatcher({ agents, recovery: loadRecovery }), args, env);
  stopOnSignals(dispatcher);
  const served = await answerServer(env, args, dispatcher);
  if (served !== undefined) exitWith(served);
  return commandLine(args, dispatcher);
}

// serve and the command line are functions of their own, so that main, which every request
// runs, holds no more than it needs.

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
  if (compileOnly) return;
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

/**
 * Ends a per-request process with its protocol's status. Where nothing listens for 'exit'
 * (nothing ran: a refused request), Node's last step is taken at once: process.exit's own
 * JavaScript (exitCode's setter, a listener's removal, the 'exit' event), compiled on first
 * use, is ~0.3 M instructions of a refusal. Whatever listens is given its event.
 */
function exitWith(code: number): void {
  if (compileOnly) return;
  const { reallyExit } = process as unknown as { reallyExit?: (code: number) => never };
  if (typeof reallyExit === 'function' && process.listenerCount('exit') === 0) reallyExit.call(process, code);
  process.exit(code);
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
    compileOnly = true;
    await main();
    stopOnSignals(undefined as never);
    exitWith(0);
    compileOnly = false;
    refusalDone();
    await (await import('./warm-up.js')).warmUp();
  });
} else if (takesRun) {
  takesRun(() => void main().catch(fail), async () => (await import('./warm-refusal.js')).warmRefusal(agents));
} else {
  main().catch(fail);
}
