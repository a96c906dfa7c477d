import { lazy } from '../../core/lazy.js';
import type { AgentActions } from '../contract.js';

// The host agent's actions (ddl/host.yaml), each loaded on first use.
export const hostActions = lazy(
  (): AgentActions => ({
    info: async () => (await import('./info.js')).info,
    agent_info: async () => (await import('./agent-info.js')).agentInfo,
    usage: async () => (await import('./usage.js')).usage,
    capacity: async () => (await import('./capacity.js')).capacity,
  }),
);
