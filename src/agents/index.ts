import type { AgentRegistry } from './contract.js';
import { firewallActions } from './firewall/actions.js';
import { hostActions } from './host/actions.js';
import { jobActions } from './job/actions.js';
import { networkActions } from './network/actions.js';
import { poolActions } from './pool/actions.js';
import { templateActions } from './template/actions.js';
import { vmActions } from './vm/actions.js';
import { volumeActions } from './volume/actions.js';

// Every agent this build offers, handed to the dispatcher by main.ts. A handler's modules
// are loaded only when a request for it has passed validation and authorization.
export const AGENTS: AgentRegistry = {
  host: hostActions,
  vm: vmActions,
  network: networkActions,
  volume: volumeActions,
  template: templateActions,
  pool: poolActions,
  firewall: firewallActions,
  job: jobActions,
};
