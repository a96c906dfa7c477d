import type { ReplyData } from './reply.js';

// A request that runs detached from the call that started it (REST `?async=true`, an
// action's `async=true`): an operation. Dispatch keeps them; the job agent and the REST
// adapter read, wait for and cancel them through this view.

export type OperationState = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost';

export interface OperationProgress {
  /** 0–100 when the step knows it. */
  percent: number | null;
  /** The action's word for its step (`creating volume`, `migrating`…). */
  stage: string;
  message: string | null;
}

export interface OperationError {
  code: string;
  message: string;
  details: Record<string, unknown> | null;
}

export interface Operation {
  id: string;
  agent: string;
  action: string;
  /** The request's `name` input (the VM, the volume…), or null. */
  target: string | null;
  caller: string | null;
  protocol: string;
  /** Whether it was started detached (else: a long synchronous request with a record). */
  async: boolean;
  state: OperationState;
  progress: OperationProgress;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** True while it runs in a process that can cancel it. */
  may_cancel: boolean;
  /** The action's outputs when it succeeded. */
  result: ReplyData | null;
  error: OperationError | null;
}

export interface OperationFilter {
  state?: OperationState | undefined;
  agent?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
}

export interface Operations {
  /** Newest first. */
  list(filter?: OperationFilter): Operation[];
  get(id: string): Operation | undefined;
  /** The operation once it has ended, or as it is when the timeout (or the signal) comes first; undefined when unknown. */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Operation | undefined>;
  /** Cancels a running operation (children killed, its work undone): NOT_FOUND, or CONFLICT when it has ended or runs elsewhere. */
  cancel(id: string, by: string): Operation;
}

export const FINISHED_STATES: readonly OperationState[] = ['succeeded', 'failed', 'cancelled', 'lost'];
