import type { ProgressReporter } from './progress.js';

// What every operation below the agents is given by the request it serves: a way to be
// cancelled, the time it must be done by, and where to say how far it is.

export interface OperationContext {
  /** Aborted at the request's deadline or when it is cancelled. */
  readonly signal: AbortSignal;
  /** Epoch ms after which the request is given up (lock waits end before it). */
  readonly deadline: number;
  readonly progress: ProgressReporter;
}
