import { lazy } from '../../core/lazy.js';
import type { AgentActions } from '../contract.js';

// The template agent's actions (ddl/template.yaml), each loaded on first use.
export const templateActions = lazy(
  (): AgentActions => ({
    list: async () => (await import('./list.js')).list,
    info: async () => (await import('./info.js')).info,
    import: async () => (await import('./import.js')).importAction,
    delete: async () => (await import('./delete.js')).deleteAction,
    prune: async () => (await import('./prune.js')).prune,
  }),
);
