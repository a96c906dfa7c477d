import type { ActionHandler } from '../contract.js';
import { readVmStatistics, type StatisticsFilter } from '../../monitoring/vm-statistics.js';

// Named statistics: `stats` is a method of MCollective's RPC::Client, which `mco rpc vm stats` would call instead.
export const statistics: ActionHandler = async ({ inputs, config, signal }) => {
  const filter = { ...(inputs.name !== undefined && { name: String(inputs.name) }), driver: inputs.driver, state: inputs.state } as StatisticsFilter;
  return { ...(await readVmStatistics(config, filter, signal)) };
};
