import type { ActionHandler } from '../core/action.js';

// Handlers are loaded on demand: a request that fails validation never pays for them.
export const ACTION_HANDLERS: Record<string, Record<string, () => Promise<ActionHandler>>> = {
  host: {
    info: async () => (await import('./host/info.js')).info,
    agent_info: async () => (await import('./host/agent-info.js')).agentInfo,
  },
  vm: {
    list: async () => (await import('./vm/list.js')).list,
    info: async () => (await import('./vm/info.js')).info,
    create: async () => (await import('./vm/create.js')).create,
    modify: async () => (await import('./vm/modify.js')).modify,
    start: async () => (await import('./vm/power.js')).start,
    shutdown: async () => (await import('./vm/power.js')).shutdown,
    poweroff: async () => (await import('./vm/power.js')).poweroff,
    reboot: async () => (await import('./vm/power.js')).reboot,
    suspend: async () => (await import('./vm/power.js')).suspend,
    resume: async () => (await import('./vm/power.js')).resume,
    delete: async () => (await import('./vm/delete.js')).deleteVm,
    snapshot_create: async () => (await import('./vm/snapshots.js')).snapshotCreate,
    snapshot_list: async () => (await import('./vm/snapshots.js')).snapshotList,
    snapshot_revert: async () => (await import('./vm/snapshots.js')).snapshotRevert,
    snapshot_delete: async () => (await import('./vm/snapshots.js')).snapshotDelete,
    migrate: async () => (await import('./vm/migrate.js')).migrate,
  },
};
