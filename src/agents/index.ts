import type { ActionHandler } from './contract.js';

// Handlers are loaded on demand: a request that fails validation never pays for them.
export const ACTION_HANDLERS: Record<string, Record<string, () => Promise<ActionHandler>>> = {
  host: {
    info: async () => (await import('./host/info.js')).info,
    agent_info: async () => (await import('./host/agent-info.js')).agentInfo,
    usage: async () => (await import('./host/usage.js')).usage,
  },
  vm: {
    list: async () => (await import('./vm/list.js')).list,
    statistics: async () => (await import('./vm/statistics.js')).statistics,
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
  network: {
    list: async () => (await import('./network/list.js')).list,
    nic_list: async () => (await import('./network/nic-list.js')).nicList,
    nic_attach: async () => (await import('./network/nic-attach.js')).nicAttach,
    nic_detach: async () => (await import('./network/nic-detach.js')).nicDetach,
  },
  volume: {
    list: async () => (await import('./volume/list.js')).list,
    info: async () => (await import('./volume/info.js')).info,
    create: async () => (await import('./volume/create.js')).create,
    resize: async () => (await import('./volume/resize.js')).resize,
    delete: async () => (await import('./volume/delete.js')).deleteVolume,
  },
  template: {
    list: async () => (await import('./template/list.js')).list,
    info: async () => (await import('./template/info.js')).info,
  },
};
