import type { AgentActions } from '../contract.js';

// The vm agent's actions (ddl/vm.yaml), each loaded on first use.
export const vmActions: AgentActions = {
  list: async () => (await import('./list.js')).list,
  statistics: async () => (await import('./statistics.js')).statistics,
  info: async () => (await import('./info.js')).info,
  locate: async () => (await import('./info.js')).locate,
  console_log: async () => (await import('./console.js')).consoleLog,
  console: async () => (await import('./console.js')).consoleAttach,
  create: async () => (await import('./create.js')).create,
  modify: async () => (await import('./modify.js')).modify,
  start: async () => (await import('./power.js')).start,
  shutdown: async () => (await import('./power.js')).shutdown,
  poweroff: async () => (await import('./power.js')).poweroff,
  reboot: async () => (await import('./power.js')).reboot,
  suspend: async () => (await import('./power.js')).suspend,
  resume: async () => (await import('./power.js')).resume,
  delete: async () => (await import('./delete.js')).deleteVm,
  snapshot_create: async () => (await import('./snapshots.js')).snapshotCreate,
  snapshot_list: async () => (await import('./snapshots.js')).snapshotList,
  snapshot_revert: async () => (await import('./snapshots.js')).snapshotRevert,
  snapshot_delete: async () => (await import('./snapshots.js')).snapshotDelete,
  migrate: async () => (await import('./migrate.js')).migrate,
};
