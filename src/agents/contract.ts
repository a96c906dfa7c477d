import type { HvConfig } from '../config/schema.js';
import type { Operations } from '../core/operations.js';
import type { ProgressReporter } from '../core/progress.js';
import type { ReplyData } from '../core/reply.js';
import type { RpcRequest } from '../core/request.js';
import type { Inputs } from '../ddl/validate.js';

// What an action handler is given and returns. Dispatch is handed a registry of these
// (main.ts wires it), as hono's app is handed its routes: it never imports an agent.

export interface ActionContext {
  request: RpcRequest;
  /** Validated against the action's DDL, defaults applied. */
  inputs: Inputs;
  config: HvConfig;
  /** Aborted at the agent's own deadline, or when the request is cancelled. */
  signal: AbortSignal;
  /** Epoch milliseconds at which the request is given up. */
  deadline: number;
  /** Says how far a long operation is (a job record, docs/JOBS.md). */
  progress: ProgressReporter;
  /** A person's terminal is this process's stdin and stdout (the command line at the host). */
  terminal: boolean;
  /** The operations this host knows (the job agent reads, waits for and cancels them). */
  operations: Operations;
}

/** What a read answered from this process's kept state is given. */
export type WarmContext = Pick<ActionContext, 'request' | 'inputs' | 'config'>;

export type ActionHandler = ((context: ActionContext) => Promise<ReplyData>) & {
  /** Given a terminal, it runs for as long as the person at it wants: no deadline then. */
  readonly interactive?: boolean;
  /**
   * A read that a long-running process (the server) can answer at once from what it keeps,
   * starting no process and waiting for nothing; undefined when nothing is kept yet (the
   * handler then runs as usual). Such an answer needs no request scope, deadline or job.
   */
  readonly readWarm?: (context: WarmContext) => ReplyData | undefined;
};

/** One agent's actions by name, each loaded on first use: a refused request never pays for a handler. */
export type AgentActions = Readonly<Record<string, () => Promise<ActionHandler>>>;

/** Every agent this build offers, by name. */
export type AgentRegistry = Readonly<Record<string, AgentActions>>;

/**
 * Finishes what killed requests left half-made (src/recovery/): every dead intent, or
 * those naming lock `key` (then what cannot be undone yet is an error). Dispatch is handed
 * a loader of it, run only when the intent journal holds a dead entry.
 */
export type Recovery = (config: HvConfig, key?: string) => Promise<void>;
