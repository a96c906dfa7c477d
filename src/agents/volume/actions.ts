import { lazy } from '../../core/lazy.js';
import type { AgentActions } from '../contract.js';

// The volume agent's actions (ddl/volume.yaml), each loaded on first use.
export const volumeActions = lazy(
  (): AgentActions => ({
    list: async () => (await import('./list.js')).list,
    info: async () => (await import('./info.js')).info,
    create: async () => (await import('./create.js')).create,
    resize: async () => (await import('./resize.js')).resize,
    delete: async () => (await import('./delete.js')).deleteVolume,
  }),
);
