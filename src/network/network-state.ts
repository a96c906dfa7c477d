import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { lockKey, withLock } from '../files/locks.js';
import { runVirshBatch, stdoutOrThrow } from '../libvirt/index.js';
import { networkDetail } from './host-networks.js';
import { mustReadNetwork, type NetworkFound } from './libvirt-networks.js';
import type { NetworkChange } from './network-create.js';
import { assertNetworkName } from './names.js';
import { networkUsers } from './network-users.js';

// A network's life after `create`: start, stop, autostart and delete, each a no-change when
// the network is already as asked. Stopping unplugs the running guests on it and deleting
// strands every VM defined with a NIC on it, so both are refused while such VMs exist
// (NETWORK_IN_USE, naming them) unless forced.

export type NetworkStateChange = { start: true } | { stop: true; force: boolean } | { autostart: boolean };

export function changeNetworkState(config: HvConfig, name: string, change: NetworkStateChange, ctx: OperationContext): Promise<NetworkChange> {
  assertNetworkName(name, 'name');
  return withNetwork(config, name, ctx, lockKey.network(name), async (network) => {
    const uri = config.libvirt.uri;
    let steps: string[][] = [];
    if ('start' in change) steps = network.active ? [] : [['net-start', name]];
    if ('stop' in change && network.active) {
      if (!change.force) await refuseWhileUsed(config, name, 'stop', (user) => user.live, ctx.signal);
      steps = [['net-destroy', name]];
    }
    if ('autostart' in change && change.autostart !== network.autostart) {
      if (!network.persistent) throw new HvError('UNSUPPORTED', `Network '${name}' is transient (not persistent): libvirt cannot start it at boot`, { network: name });
      steps = [['net-autostart', name, ...(change.autostart ? [] : ['--disable'])]];
    }
    for (const result of await runVirshBatch(steps, { uri, signal: ctx.signal })) stdoutOrThrow(result);
    return { network: networkDetail(await mustReadNetwork(uri, name, ctx.signal)), changed: steps.length > 0 };
  });
}

export interface NetworkDeleted {
  readonly changed: boolean;
  /** VMs that still have a NIC on it (deleted anyway: force). */
  readonly usedBy: string[];
}

/** Stops and undefines a network; one that is not there is no change. */
export async function deleteNetwork(config: HvConfig, name: string, force: boolean, ctx: OperationContext): Promise<NetworkDeleted> {
  assertNetworkName(name, 'name');
  const uri = config.libvirt.uri;
  return withLock(lockKey.networkDefinitions(), { directory: config.paths.lock_dir, deadline: ctx.deadline }, async () => {
    const network = await mustReadNetwork(uri, name, ctx.signal).catch((error: unknown) => {
      if (error instanceof HvError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    });
    if (!network) return { changed: false, usedBy: [] };
    const users = force ? await networkUsers(config, name, ctx.signal) : await refuseWhileUsed(config, name, 'delete', () => true, ctx.signal);
    const steps = [...(network.active ? [['net-destroy', name]] : []), ...(network.persistent ? [['net-undefine', name]] : [])];
    for (const result of await runVirshBatch(steps, { uri, signal: ctx.signal })) stdoutOrThrow(result);
    return { changed: true, usedBy: users.map((user) => user.vm) };
  });
}

async function withNetwork<T>(config: HvConfig, name: string, ctx: OperationContext, key: string, work: (network: NetworkFound) => Promise<T>): Promise<T> {
  return withLock(key, { directory: config.paths.lock_dir, deadline: ctx.deadline }, async () => work(await mustReadNetwork(config.libvirt.uri, name, ctx.signal)));
}

async function refuseWhileUsed(config: HvConfig, name: string, verb: 'stop' | 'delete', counts: (user: { live: boolean }) => boolean, signal: AbortSignal) {
  const users = (await networkUsers(config, name, signal)).filter(counts);
  if (users.length === 0) return users;
  const vms = users.map((user) => user.vm);
  const what = verb === 'stop' ? 'running VMs are plugged into it' : 'VMs have NICs on it';
  throw new HvError('NETWORK_IN_USE', `Network '${name}' cannot be ${verb === 'stop' ? 'stopped' : 'deleted'}: ${what} (${vms.join(', ')}); detach their NICs first, or ${verb} with force=true`, {
    network: name,
    used_by: vms,
  });
}
