import type { ActionHandler } from '../contract.js';
import { readVmNics } from '../../network/domain-nics.js';
import { normalizeMac } from '../../network/mac.js';
import { detachInterface, waitForLiveRemoval } from '../../network/nic-device.js';
import { VM_CLASSES } from '../../model/vm-classes.js';
import { changeReply, lockedVm } from '../vm/common.js';

// The NIC leaves the running VM first (so that a refusal there changes nothing), then the
// definition. A MAC the VM does not have is no change.

/** Time kept back from the deadline for the config change and the reply. */
const RESERVE_MS = 8_000;

export const nicDetach: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    const { deadline, inputs, signal } = context;
    const mac = normalizeMac(String(inputs.mac));
    const nics = await readVmNics(vm, signal);
    const inLive = nics.live?.find((nic) => nic.mac === mac);
    const inDefinition = nics.persistent.find((nic) => nic.mac === mac);
    if (!inLive && !inDefinition) return changeReply(vm, false, vm.state, { mac, applied: null });

    let applied = 'next_boot';
    if (inLive && VM_CLASSES[vm.vmClass].live.nics) {
      await detachInterface(vm, inLive, '--live', signal);
      // A guest that has not released the device yet: it is gone from the definition, and
      // QEMU removes it from the running VM once the guest lets go.
      applied = (await waitForLiveRemoval(vm, mac, deadline - RESERVE_MS, signal)) ? 'live' : 'live_pending';
    }
    if (inDefinition) await detachInterface(vm, inDefinition, '--config', signal);
    return changeReply(vm, true, vm.state, { mac, applied });
  });
