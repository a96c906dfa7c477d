import type { ActionHandler } from '../contract.js';
import { listHostNetworks, type NetworkEntry } from '../../network/host-networks.js';

export const list: ActionHandler = async ({ config, inputs, signal }) => {
  const entries = await listHostNetworks(config, String(inputs.kind ?? 'any') as 'any' | NetworkEntry['kind'], signal);
  return {
    networks: entries,
    count: entries.length,
    names: entries.map((entry) => entry.name),
    forward_modes: entries.map((entry) => entry.forward_mode ?? 'host-bridge'),
  };
};
