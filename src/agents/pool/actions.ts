import type { AgentActions } from '../contract.js';

// The pool agent's actions (ddl/pool.yaml), each loaded on first use.
export const poolActions: AgentActions = {
  list: async () => (await import('./pools.js')).list,
  create: async () => (await import('./pools.js')).create,
  delete: async () => (await import('./pools.js')).deletePool,
};
