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
// are loaded only when a request for it has passed validation and authorization, and an
// agent's table of them is made only when first read: a request refused by validation (the
// commonest per-request process) makes none (P1, docs/PERFORMANCE.md).
export const AGENTS: AgentRegistry = {
  get host() { return hostActions(); },
  get vm() { return vmActions(); },
  get network() { return networkActions(); },
  get volume() { return volumeActions(); },
  get template() { return templateActions(); },
  get pool() { return poolActions(); },
  get firewall() { return firewallActions(); },
  get job() { return jobActions(); },
};
