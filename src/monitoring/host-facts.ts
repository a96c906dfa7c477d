import { readHypervisorFacts, type HypervisorFacts, type ReadHostFactsOptions } from '../libvirt/host-facts.js';
import type { VmClassName } from '../model/vm-classes.js';

// What the host has (CPUs, memory, NUMA, the hypervisor) and which VM classes it can run.

export interface HostFacts extends Omit<HypervisorFacts, 'virtualisation'> {
  readonly vm_classes: readonly VmClassName[];
}

export async function readHostFacts(options: ReadHostFactsOptions): Promise<HostFacts> {
  const { virtualisation, ...facts } = await readHypervisorFacts(options);
  return { ...facts, vm_classes: offeredVmClasses(virtualisation) };
}

/**
 * - qemu: some guest is offered with domain type "qemu" (TCG emulation always works).
 * - kvm: domain type "kvm" offered AND the CPU shows vmx/svm. libvirt offers "kvm" as soon
 *   as /dev/kvm exists, but a /dev/kvm without VT-x/AMD-V (e.g. kvm_pvm inside a Firecracker
 *   VM) only runs PVM-aware guest kernels; ordinary guests crash, so it must not be offered.
 *   The flag check reads the local /proc/cpuinfo: hvagent runs on the host it manages.
 * - lxc: the separate LXC connection answers.
 */
export function offeredVmClasses(virtualisation: HypervisorFacts['virtualisation']): VmClassName[] {
  const offered = new Set(virtualisation.domainTypes);
  const classes: VmClassName[] = [];
  if (offered.has('qemu')) classes.push('qemu');
  if (offered.has('kvm') && virtualisation.hardware) classes.push('kvm');
  if (virtualisation.lxcAnswers) classes.push('lxc');
  return classes;
}
