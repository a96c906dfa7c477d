import type { AgentActions } from '../contract.js';

// The network agent's actions (ddl/network.yaml), each loaded on first use.
export const networkActions: AgentActions = {
  list: async () => (await import('./list.js')).list,
  create: async () => (await import('./create.js')).create,
  delete: async () => (await import('./delete.js')).deleteNetwork,
  start: async () => (await import('./state.js')).start,
  stop: async () => (await import('./state.js')).stop,
  autostart: async () => (await import('./state.js')).autostart,
  lease_list: async () => (await import('./leases.js')).leaseList,
  lease_set: async () => (await import('./leases.js')).leaseSet,
  lease_remove: async () => (await import('./leases.js')).leaseRemove,
  nic_list: async () => (await import('./nic-list.js')).nicList,
  nic_attach: async () => (await import('./nic-attach.js')).nicAttach,
  nic_detach: async () => (await import('./nic-detach.js')).nicDetach,
};
