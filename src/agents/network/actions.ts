import type { AgentActions } from '../contract.js';

// The network agent's actions (ddl/network.yaml), each loaded on first use.
export const networkActions: AgentActions = {
  list: async () => (await import('./list.js')).list,
  nic_list: async () => (await import('./nic-list.js')).nicList,
  nic_attach: async () => (await import('./nic-attach.js')).nicAttach,
  nic_detach: async () => (await import('./nic-detach.js')).nicDetach,
};
