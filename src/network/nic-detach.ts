import type { HvConfig } from '../config/schema.js';
import type { OperationContext } from '../core/operation.js';
import { withLockedVm } from '../libvirt/domains/locked.js';
import { VM_CLASSES } from '../model/vm-classes.js';
import { readVmNics } from './domain-nics.js';
import { isNicFilter, undefineFilter } from './firewall/filters.js';
import { normalizeMac } from './mac.js';
import type { NicChange } from './nic-attach.js';
import { detachInterface, waitForLiveRemoval } from './nic-device.js';

// The NIC leaves the running VM first (so that a refusal there changes nothing), then the
// definition. A MAC the VM does not have is no change.

/** Time kept back from the deadline for the config change and the reply. */
const RESERVE_MS = 8_000;

export function detachNic(config: HvConfig, name: string, macInput: string, ctx: OperationContext): Promise<NicChange> {
  return withLockedVm(config, name, ctx, async (vm) => {
    const { deadline, signal } = ctx;
    const mac = normalizeMac(macInput);
    const nics = await readVmNics(vm, signal);
    const inLive = nics.live?.find((nic) => nic.mac === mac);
    const inDefinition = nics.persistent.find((nic) => nic.mac === mac);
    if (!inLive && !inDefinition) return { vm, changed: false, mac, applied: null };

    let applied = 'next_boot';
    if (inLive && VM_CLASSES[vm.vmClass].live.nics) {
      await detachInterface(vm, inLive, '--live', signal);
      // A guest that has not released the device yet: it is gone from the definition, and
      // QEMU removes it from the running VM once the guest lets go.
      applied = (await waitForLiveRemoval(vm, mac, deadline - RESERVE_MS, signal)) ? 'live' : 'live_pending';
    }
    if (inDefinition) await detachInterface(vm, inDefinition, '--config', signal);
    // The NIC's own filter goes with it, unless the guest still holds the NIC (libvirt
    // refuses while a live NIC uses it): then it stays until that VM's deletion.
    const own = [inLive?.filter, inDefinition?.filter].find((filter) => filter && isNicFilter(filter));
    if (own && applied !== 'live_pending') await undefineFilter(config.libvirt.uri, own, signal).catch(() => undefined);
    return { vm, changed: true, mac, applied };
  });
}
