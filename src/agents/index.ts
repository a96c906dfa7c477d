import type { ActionHandler } from '../core/action.js';

// Handlers are loaded on demand: a request that fails validation never pays for them.
export const ACTION_HANDLERS: Record<string, Record<string, () => Promise<ActionHandler>>> = {
  host: {
    info: async () => (await import('./host/info.js')).info,
    agent_info: async () => (await import('./host/agent-info.js')).agentInfo,
  },
};
