import type { ActionHandler } from '../contract.js';
import { createNetwork } from '../../network/network-create.js';
import type { NetworkMode } from '../../network/network-spec.js';
import { givenText, networkChangeReply, networkName } from './common.js';

export const create: ActionHandler = async (context) => {
  const { inputs } = context;
  const request = {
    name: networkName(context),
    mode: String(inputs.mode) as NetworkMode,
    ...givenText(context, { subnet: 'subnet', dhcpRange: 'dhcp_range', bridge: 'bridge', domain: 'domain', dnsHosts: 'dns_hosts' }),
    ...(inputs.dhcp !== undefined && { dhcp: inputs.dhcp === true }),
    autostart: inputs.autostart === true,
    start: inputs.start === true,
  };
  return networkChangeReply(await createNetwork(context.config, request, context));
};
