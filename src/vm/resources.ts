import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { defineDomain } from '../libvirt/domains/define.js';
import type { Located } from '../libvirt/domains/locate.js';
import { withLockedVm } from '../libvirt/domains/locked.js';
import { parseDomainXml } from '../libvirt/parse/domain.js';
import { runVirshBatch, stdoutOrThrow, virsh } from '../libvirt/virsh.js';
import { VM_CLASSES } from '../model/vm-classes.js';
import { withAdmission } from './admission.js';
import type { VmChange } from './change.js';
import { withVcpus } from './domain-edit.js';
import { ejectCdroms } from './media.js';

// A change is made live (now, and kept in the definition) when the VM runs and its class
// can take it; otherwise it is written to the definition and takes effect at next boot.

export interface ResourceChange {
  readonly memoryMb?: number;
  readonly vcpus?: number;
  readonly autostart?: boolean;
  /** Empty every CD-ROM drive (an installer's medium, once the system is installed). */
  readonly ejectCdrom?: boolean;
}

export type Applied = 'live' | 'next_boot';

/** Changes memory, vCPUs and autostart; `applied` says, for each that changed, whether it took effect now or at next boot. */
export function modifyVm(config: HvConfig, name: string, change: ResourceChange, ctx: OperationContext): Promise<VmChange & { applied: Record<string, Applied> }> {
  return withLockedVm(config, name, ctx, async (vm) => {
    const { signal } = ctx;
    if (change.memoryMb === undefined && change.vcpus === undefined && change.autostart === undefined && change.ejectCdrom !== true) {
      throw new HvError('INPUT_REQUIRED', 'Give at least one of memory_mb, vcpus, autostart or eject_cdrom=true', { input: 'memory_mb' });
    }
    const [xml, dominfo] = await runVirshBatch([['dumpxml', '--inactive', vm.name], ['dominfo', vm.name]], { uri: vm.uri, signal });
    const defined = parseDomainXml(stdoutOrThrow(xml!));
    const autostart = /^Autostart:\s*enable/m.test(stdoutOrThrow(dominfo!));
    const live = vm.state === 'running' || vm.state === 'paused';
    const can = VM_CLASSES[vm.vmClass].live;
    const applied: Record<string, Applied> = {};

    const resize = { kind: 'resize', name: vm.name, ...(change.memoryMb !== undefined && { memoryMb: change.memoryMb }), ...(change.vcpus !== undefined && { vcpus: change.vcpus }) } as const;
    await withAdmission(config, resize, ctx, async () => {
      // vCPUs first: for a container that rewrites the whole definition, which must not
      // undo a memory change made just before.
      if (change.vcpus !== undefined && change.vcpus !== defined.vcpus) {
        applied.vcpus = await setVcpus(vm, change.vcpus, defined.max_vcpus, live && can.vcpus, signal);
      }
      if (change.memoryMb !== undefined && change.memoryMb !== defined.memory_mb) {
        applied.memory_mb = await setMemory(vm, change.memoryMb, defined.max_memory_mb, live && can.memory, signal);
      }
    });
    if (change.autostart !== undefined && change.autostart !== autostart) {
      await virsh(vm.uri, ['autostart', vm.name, ...(change.autostart ? [] : ['--disable'])], signal);
      applied.autostart = 'live';
    }
    if (change.ejectCdrom === true) {
      const ejected = await ejectCdroms(vm, defined, signal);
      if (ejected.ejected) applied.eject_cdrom = ejected.live ? 'live' : 'next_boot';
    }
    return { vm, changed: Object.keys(applied).length > 0, state: vm.state, applied };
  });
}

async function setMemory(vm: Located, mb: number, maxMb: number, live: boolean, signal: AbortSignal): Promise<Applied> {
  const kib = String(mb * 1024);
  if (live && mb <= maxMb) {
    await virsh(vm.uri, ['setmem', vm.name, kib, '--live', '--config'], signal);
    return 'live';
  }
  if (mb > maxMb) await virsh(vm.uri, ['setmaxmem', vm.name, kib, '--config'], signal);
  await virsh(vm.uri, ['setmem', vm.name, kib, '--config'], signal);
  return 'next_boot';
}

async function setVcpus(vm: Located, count: number, max: number, live: boolean, signal: AbortSignal): Promise<Applied> {
  if (vm.driver === 'lxc') {
    // The LXC driver cannot set vCPUs through its API: change the definition itself.
    await defineDomain(vm.uri, withVcpus(await virsh(vm.uri, ['dumpxml', '--inactive', vm.name], signal), count), signal);
    return 'next_boot';
  }
  if (live && count <= max) {
    try {
      await virsh(vm.uri, ['setvcpus', vm.name, String(count), '--live', '--config'], signal);
      return 'live';
    } catch {
      // Not every guest takes CPU hot(un)plug; the definition still changes below.
    }
  }
  if (count > max) await virsh(vm.uri, ['setvcpus', vm.name, String(count), '--maximum', '--config'], signal);
  await virsh(vm.uri, ['setvcpus', vm.name, String(count), '--config'], signal);
  return 'next_boot';
}

