import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { withLockedVm } from '../libvirt/domains/locked.js';
import type { Located } from '../libvirt/domains/locate.js';
import { VM_CLASSES } from '../model/vm-classes.js';
import { readVmNics } from './domain-nics.js';
import { undefineFilter } from './firewall/filters.js';
import { checkNicFirewall, defineNicFilter, filterRefOf, learningParameters, needsOwnFilter, parseNicFirewall, viewOf, type NicFirewallRequest } from './firewall/nic-firewall.js';
import { withRuleSetLocks } from './firewall/rule-sets.js';
import { mustBeBridge } from './host-bridges.js';
import { mustReadNetwork, type NetworkFound } from './libvirt-networks.js';
import { macsInUse, normalizeMac, stableMac } from './mac.js';
import { assertBridgeName, assertNetworkName } from './names.js';
import { attachInterface, sourceOf, type Scope } from './nic-device.js';
import { findNic, nicEntries, type NicEntry } from './nic-entries.js';
import type { NicSource } from './nic-xml.js';

// A NIC is always added to the definition; it is also plugged into the running VM when
// the class can take it. A MAC already on this VM with the same source is no change; a
// MAC any other domain uses is refused, naming its owner.

export interface NicAttachRequest extends NicFirewallRequest {
  /** One of network or bridge. */
  readonly network?: string;
  readonly bridge?: string;
  /** Generated (stable) when left out. */
  readonly mac?: string;
  /** QEMU's NIC model (virtio); containers have none. */
  readonly model?: string;
}

export interface NicChange {
  readonly vm: Located;
  readonly changed: boolean;
  readonly mac: string;
  /** live, next_boot, live_pending (detach waiting on the guest), or null when nothing changed. */
  readonly applied: string | null;
  readonly nic?: NicEntry | undefined;
}

async function requestedSource(config: HvConfig, request: NicAttachRequest, signal: AbortSignal): Promise<{ source: NicSource; network?: NetworkFound }> {
  const { network, bridge } = request;
  if (network === undefined && bridge === undefined) throw new HvError('INPUT_REQUIRED', 'Give a network or a bridge', { input: 'network' });
  if (network !== undefined && bridge !== undefined) throw new HvError('INPUT_INVALID', 'Give a network or a bridge, not both', { input: 'bridge' });
  if (network !== undefined) {
    const name = assertNetworkName(network);
    return { source: { network: name }, network: await mustReadNetwork(config.libvirt.uri, name, signal) };
  }
  const name = assertBridgeName(bridge!);
  mustBeBridge(name);
  return { source: { bridge: name } };
}

const sameSource = (a: NicSource, b: NicSource) => JSON.stringify(a) === JSON.stringify(b);

export function attachNic(config: HvConfig, name: string, request: NicAttachRequest, ctx: OperationContext): Promise<NicChange> {
  return withLockedVm(config, name, ctx, async (vm) => {
    const { signal } = ctx;
    const requestedMac = request.mac === undefined ? undefined : normalizeMac(request.mac);
    const firewall = parseNicFirewall(config, VM_CLASSES[vm.vmClass], request);
    const { source, network } = await requestedSource(config, request, signal);
    const before = await readVmNics(vm, signal);

    const present = requestedMac && findNic(before, requestedMac);
    if (present) {
      if (!sameSource(sourceOf(present), source)) {
        throw new HvError('CONFLICT', `${vm.name} already has a NIC with MAC ${requestedMac}, on ${describe(sourceOf(present))}`, { mac: requestedMac });
      }
      const nic = (await nicEntries(config, before, signal)).find((entry) => entry.mac === requestedMac);
      if (nic && JSON.stringify(nic.firewall) !== JSON.stringify(viewOf(firewall))) {
        throw new HvError('CONFLICT', `${vm.name} already has the NIC ${requestedMac}, with another firewall (${JSON.stringify(nic.firewall)}): change it with firewall nic_set`, { mac: requestedMac });
      }
      return { vm, changed: false, mac: requestedMac, applied: nic?.live ? 'live' : 'next_boot', nic };
    }

    const inUse = await macsInUse(config, signal);
    const owner = requestedMac && inUse.get(requestedMac);
    if (owner) throw new HvError('CONFLICT', `MAC ${requestedMac} is already used by VM '${owner}'`, { mac: requestedMac, owner });
    const mac = requestedMac ?? stableMac(vm.name, before.persistent.length, inUse);

    const running = before.live !== null;
    const live = running && VM_CLASSES[vm.vmClass].live.nics && before.privateNetwork;
    const scopes: Scope[] = live ? ['--config', '--live'] : ['--config'];
    await withRuleSetLocks(config, firewall.ruleSets, ctx.deadline, async () => {
      await checkNicFirewall(config.libvirt.uri, firewall, signal);
      // Its own filter first (libvirt needs it to plug the NIC in), taken back if the attach fails.
      if (needsOwnFilter(firewall)) await defineNicFilter(config.libvirt.uri, mac, firewall, signal);
      const spec = { source, mac, filter: filterRefOf(mac, firewall, learningParameters(network, mac)), ...(vm.driver === 'qemu' && { model: request.model ?? 'virtio' }) };
      await attachInterface(vm, spec, scopes, signal).catch(async (error: unknown) => {
        if (needsOwnFilter(firewall)) await undefineFilter(config.libvirt.uri, spec.filter!.name).catch(() => undefined);
        throw error;
      });
    });

    const nic = (await nicEntries(config, await readVmNics(vm, signal), signal)).find((entry) => entry.mac === mac);
    return { vm, changed: true, mac, applied: live ? 'live' : 'next_boot', nic };
  });
}

function describe(source: NicSource): string {
  return 'network' in source ? `network '${source.network}'` : `bridge '${source.bridge}'`;
}
