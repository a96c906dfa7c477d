import type { AgentActions } from '../contract.js';

// The firewall agent's actions (ddl/firewall.yaml), each loaded on first use.
export const firewallActions: AgentActions = {
  list: async () => (await import('./rule-sets.js')).list,
  define: async () => (await import('./rule-sets.js')).define,
  delete: async () => (await import('./rule-sets.js')).deleteRuleSet,
  nic_set: async () => (await import('./nic-set.js')).nicSet,
};
