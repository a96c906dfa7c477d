import type { ActionHandler } from '../contract.js';
import { listReservations, removeReservation, setReservation } from '../../network/reservations.js';

export const leaseList: ActionHandler = async ({ config, inputs, signal }) => {
  const { network, leases } = await listReservations(config, String(inputs.network), signal);
  return { network: network.name, reservations: network.dhcp_hosts, leases, count: network.dhcp_hosts.length };
};

export const leaseSet: ActionHandler = async (context) => {
  const { inputs } = context;
  const network = String(inputs.network);
  const request = { mac: String(inputs.mac), ip: String(inputs.ip), ...(inputs.hostname !== undefined && { hostname: String(inputs.hostname) }) };
  const { changed, reservation, previous } = await setReservation(context.config, network, request, context);
  return { network, mac: reservation!.mac, ip: reservation!.ip, changed, previous };
};

export const leaseRemove: ActionHandler = async (context) => {
  const network = String(context.inputs.network);
  const { changed, previous } = await removeReservation(context.config, network, String(context.inputs.mac), context);
  return { network, mac: String(context.inputs.mac).toLowerCase(), changed, previous };
};
