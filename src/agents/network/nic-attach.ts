import type { ActionContext, ActionHandler } from '../contract.js';
import { HvError } from '../../core/errors.js';
import { readVmNics } from '../../network/domain-nics.js';
import { mustBeBridge } from '../../network/host-bridges.js';
import { mustReadNetwork } from '../../network/libvirt-networks.js';
import { macsInUse, normalizeMac, stableMac } from '../../network/mac.js';
import { assertBridgeName, assertNetworkName } from '../../network/names.js';
import { attachInterface, sourceOf, type Scope } from '../../network/nic-device.js';
import type { NicSource } from '../../network/nic-xml.js';
import { VM_CLASSES } from '../../model/vm-classes.js';
import { changeReply, lockedVm } from '../vm/common.js';
import { findNic, nicEntries } from './nic-entries.js';

// A NIC is always added to the definition; it is also plugged into the running VM when
// the class can take it. A MAC already on this VM with the same source is no change; a
// MAC any other domain uses is refused, naming its owner.

async function requestedSource(context: ActionContext): Promise<NicSource> {
  const { network, bridge } = context.inputs;
  if (network === undefined && bridge === undefined) throw new HvError('INPUT_REQUIRED', 'Give a network or a bridge', { input: 'network' });
  if (network !== undefined && bridge !== undefined) throw new HvError('INPUT_INVALID', 'Give a network or a bridge, not both', { input: 'bridge' });
  if (network !== undefined) {
    const name = assertNetworkName(String(network));
    await mustReadNetwork(context.config.libvirt.uri, name, context.signal);
    return { network: name };
  }
  const name = assertBridgeName(String(bridge));
  mustBeBridge(name);
  return { bridge: name };
}

const sameSource = (a: NicSource, b: NicSource) => JSON.stringify(a) === JSON.stringify(b);

export const nicAttach: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    const { config, inputs, signal } = context;
    const requestedMac = inputs.mac === undefined ? undefined : normalizeMac(String(inputs.mac));
    const source = await requestedSource(context);
    const before = await readVmNics(vm, signal);

    const present = requestedMac && findNic(before, requestedMac);
    if (present) {
      if (!sameSource(sourceOf(present), source)) {
        throw new HvError('CONFLICT', `${vm.name} already has a NIC with MAC ${requestedMac}, on ${describe(sourceOf(present))}`, { mac: requestedMac });
      }
      const nic = (await nicEntries(config, before, signal)).find((entry) => entry.mac === requestedMac);
      return changeReply(vm, false, vm.state, { mac: requestedMac, applied: nic?.live ? 'live' : 'next_boot', nic });
    }

    const inUse = await macsInUse(config, signal);
    const owner = requestedMac && inUse.get(requestedMac);
    if (owner) throw new HvError('CONFLICT', `MAC ${requestedMac} is already used by VM '${owner}'`, { mac: requestedMac, owner });
    const mac = requestedMac ?? stableMac(vm.name, before.persistent.length, inUse);

    const running = before.live !== null;
    const live = running && VM_CLASSES[vm.vmClass].live.nics && before.privateNetwork;
    const scopes: Scope[] = live ? ['--config', '--live'] : ['--config'];
    await attachInterface(vm, { source, mac, ...(vm.driver === 'qemu' && { model: String(inputs.model ?? 'virtio') }) }, scopes, signal);

    const nic = (await nicEntries(config, await readVmNics(vm, signal), signal)).find((entry) => entry.mac === mac);
    return changeReply(vm, true, vm.state, { mac, applied: live ? 'live' : 'next_boot', nic });
  });

function describe(source: NicSource): string {
  return 'network' in source ? `network '${source.network}'` : `bridge '${source.bridge}'`;
}
