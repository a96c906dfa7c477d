import type { ActionDdl, AgentDdl, InputItem, OutputItem } from './types.js';

// Every mutating action may run detached, as an operation of `hvagent serve`: the fleets ask
// with the input `async=true` and get the job's id back in the output `job_id` (follow it
// with the job agent). Both are added here, to every mutating action, when the DDLs are
// loaded: the YAML does not repeat them, and every artefact (validators, Choria JSON,
// MCollective DDL, docs, CLI help, OpenAPI) sees them.

export const ASYNC_INPUT = 'async';
export const JOB_ID_OUTPUT = 'job_id';

const asyncInput: InputItem = {
  prompt: 'Async',
  description: 'Run as an operation of hvagent serve and reply at once with its job_id (follow it with job status or job wait); needs the server running',
  type: 'boolean',
  optional: true,
};

const jobIdOutput: OutputItem = {
  description: 'The operation started when async=true (job status, job wait, job cancel); null otherwise',
  display_as: 'Job',
  type: 'string',
};

export function withAsyncInputs(ddl: AgentDdl): AgentDdl {
  return { ...ddl, actions: ddl.actions.map((action) => (action.mutating ? withAsync(action) : action)) };
}

function withAsync(action: ActionDdl): ActionDdl {
  return {
    ...action,
    input: { ...action.input, [ASYNC_INPUT]: asyncInput },
    output: { ...action.output, [JOB_ID_OUTPUT]: jobIdOutput },
  };
}
