import type { AgentActions } from '../contract.js';

// The job agent's actions (ddl/job.yaml): the operations this host knows.
export const jobActions: AgentActions = {
  list: async () => (await import('./jobs.js')).list,
  status: async () => (await import('./jobs.js')).status,
  wait: async () => (await import('./jobs.js')).wait,
  cancel: async () => (await import('./jobs.js')).cancel,
};
