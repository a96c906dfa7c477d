import type { HvConfig } from '../config/schema.js';
import type { Inputs } from '../ddl/validate.js';
import type { ProgressReporter } from '../dispatch/job-tracker.js';
import type { ReplyData } from '../core/reply.js';
import type { RpcRequest } from '../core/request.js';

export interface ActionContext {
  request: RpcRequest;
  inputs: Inputs;
  config: HvConfig;
  /** Aborted at the agent's own deadline. */
  signal: AbortSignal;
  /** Epoch milliseconds at which the request is given up. */
  deadline: number;
  /** Says how far a long operation is (see progress.ts). */
  progress: ProgressReporter;
}

export type ActionHandler = (context: ActionContext) => Promise<ReplyData>;
