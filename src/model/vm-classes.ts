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
  /** What a bare template name (no `type:`) means for this class. */
  defaultTemplateType: string;
  /** What boots it. */
  boots: readonly ('kernel' | 'disk' | 'rootfs')[];
  /** What can change while it runs; `nics`: NICs plugged in and out (attach/detach-device --live). */
  live: { memory: boolean; vcpus: boolean; nics: boolean };
  /** How a graceful shutdown is asked for. */
  shutdownMode: 'acpi' | 'signal';
  /** Whether its NICs can carry a libvirt network filter (firewall rules, docs/NETWORKS.md). */
  nicFilters: boolean;
}

const QEMU_FAMILY = {
  connection: 'uri',
  storagePlugins: ['raw', 'qcow2', 'lvm'],
  // iso: an installer booted from a CD-ROM onto an empty root volume.
  templateTypes: ['image', 'pxe', 'iso'],
  defaultTemplateType: 'image',
  boots: ['kernel', 'disk'],
  // NICs hot-plug into the spare pcie-root-ports of q35 (domain-xml.ts).
  live: { memory: true, vcpus: true, nics: true },
  shutdownMode: 'acpi',
  nicFilters: true,
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
    defaultTemplateType: 'lxc',
    boots: ['rootfs'],
    // The LXC driver changes the memory cgroup live; it cannot hot-plug CPUs. It does move
    // a veth into (and out of) a running container, but only one with a network namespace
    // of its own (started with a NIC, or <privnet/>): see docs/NETWORKS.md.
    live: { memory: true, vcpus: false, nics: true },
    // busybox-style inits ignore libvirt's default initctl request (docs/reference/backends.md §5a).
    shutdownMode: 'signal',
    // libvirt 9.0's LXC driver cannot start a container whose NIC has a <filterref>
    // ("filter binding has no port dev name", measured): its NICs go unfiltered.
    nicFilters: false,
  },
};

export function classOfDomainType(type: string): VmClassName | undefined {
  return (Object.values(VM_CLASSES).find((candidate) => candidate.domainType === type) ?? undefined)?.name;
}
