import type { ActionContext } from '../contract.js';
import type { ReplyData } from '../../core/reply.js';
import type { NetworkChange } from '../../network/network-create.js';

export function networkName(context: ActionContext): string {
  return String(context.inputs.name);
}

/** The optional string inputs, by their request names: only those the caller gave. */
export function givenText<K extends string>(context: ActionContext, inputs: Readonly<Record<K, string>>): Partial<Record<K, string>> {
  return Object.fromEntries(Object.entries<string>(inputs).flatMap(([key, input]) => (context.inputs[input] === undefined ? [] : [[key, String(context.inputs[input])]]))) as Partial<Record<K, string>>;
}

/** The reply of every action that changes a network. */
export function networkChangeReply({ network, changed }: NetworkChange): ReplyData {
  return { name: network.name, changed, active: network.active, autostart: network.autostart, subnet: network.subnet, network };
}
