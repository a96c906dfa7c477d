import { HvError } from '../../core/errors.js';
import type { Operation, OperationState } from '../../core/operations.js';
import type { ReplyData } from '../../core/reply.js';
import type { ActionHandler } from '../contract.js';

// Thin: the job agent's inputs → the operations view dispatch hands every action → outputs.

export const list: ActionHandler = async ({ inputs, operations }) => {
  const state = inputs.state === 'any' ? undefined : (inputs.state as OperationState);
  const jobs = operations.list({ state, target: inputs.target as string | undefined }).map(summary);
  return { jobs, count: jobs.length };
};

export const status: ActionHandler = async ({ inputs, operations }) => outputs(known(operations.get(String(inputs.id)), String(inputs.id)));

export const wait: ActionHandler = async ({ inputs, operations, signal, deadline }) => {
  const id = String(inputs.id);
  // Never past the request's own deadline: the reply must reach the caller.
  const timeoutMs = Math.min(Number(inputs.timeout) * 1000, deadline - Date.now() - 500);
  const operation = known(await operations.wait(id, timeoutMs, signal), id);
  return { ...outputs(operation), timed_out: operation.state === 'running' };
};

export const cancel: ActionHandler = async ({ inputs, operations, request }) =>
  outputs(operations.cancel(String(inputs.id), request.callerid ?? 'a caller of the job agent'));

function known(operation: Operation | undefined, id: string): Operation {
  if (!operation) throw new HvError('NOT_FOUND', `No operation '${id}' on this host (finished ones are kept for operations.retention_s)`, { id });
  return operation;
}

function summary(operation: Operation) {
  const { result: _result, error, progress, ...rest } = operation;
  return { ...rest, progress, error_code: error?.code ?? null };
}

function outputs(operation: Operation): ReplyData {
  return {
    id: operation.id,
    agent: operation.agent,
    job_action: operation.action,
    target: operation.target,
    caller: operation.caller,
    state: operation.state,
    percent: operation.progress.percent,
    stage: operation.progress.stage,
    message: operation.progress.message,
    created_at: operation.created_at,
    updated_at: operation.updated_at,
    finished_at: operation.finished_at,
    may_cancel: operation.may_cancel,
    result: operation.result,
    error: operation.error,
  };
}
