// A VM class says how a VM runs and what it can be built from: which storage plugin
// types and template types it supports, which connection it lives on, and what can
// change while it runs. A request for an unsupported combination is refused before
// anything is touched.

export type VmClassName = 'qemu' | 'kvm' | 'lxc';

export interface VmClass {
  name: VmClassName;
  /** <domain type='…'> */
  domainType: 'qemu' | 'kvm' | 'lxc';
  /** Which configured URI its domains live on. */
  connection: 'uri' | 'lxc_uri';
  storagePlugins: readonly string[];
  templateTypes: readonly string[];
  /** What boots it. */
  boots: readonly ('kernel' | 'disk' | 'rootfs')[];
  live: { memory: boolean; vcpus: boolean };
  /** How a graceful shutdown is asked for. */
  shutdownMode: 'acpi' | 'signal';
}

const QEMU_FAMILY = {
  connection: 'uri',
  storagePlugins: ['raw', 'qcow2', 'lvm'],
  templateTypes: ['image', 'pxe'],
  boots: ['kernel', 'disk'],
  live: { memory: true, vcpus: true },
  shutdownMode: 'acpi',
} as const;

export const VM_CLASSES: Readonly<Record<VmClassName, VmClass>> = {
  qemu: { name: 'qemu', domainType: 'qemu', ...QEMU_FAMILY },
  kvm: { name: 'kvm', domainType: 'kvm', ...QEMU_FAMILY },
  lxc: {
    name: 'lxc',
    domainType: 'lxc',
    connection: 'lxc_uri',
    storagePlugins: ['dir'],
    templateTypes: ['lxc', 'tar'],
    boots: ['rootfs'],
    // The LXC driver changes the memory cgroup live; it cannot hot-plug CPUs.
    live: { memory: true, vcpus: false },
    // busybox-style inits ignore libvirt's default initctl request (backends.md §5a).
    shutdownMode: 'signal',
  },
};

export function classOfDomainType(type: string): VmClassName | undefined {
  return (Object.values(VM_CLASSES).find((candidate) => candidate.domainType === type) ?? undefined)?.name;
}
