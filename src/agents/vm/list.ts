import type { ActionHandler } from '../contract.js';
import { listVms, type ListFilter } from '../../vm/list.js';

export const list: ActionHandler = async ({ inputs, config, signal }) => {
  const vms = await listVms(config, { driver: inputs.driver, state: inputs.state, details: inputs.details } as ListFilter, signal);
  return { vms, count: vms.length };
};
