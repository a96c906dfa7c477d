import { XMLBuilder } from 'fast-xml-parser';
import { HV_NAMESPACE, type HvMetadata } from '../libvirt/metadata.js';
import type { VmClass } from '../model/vm-classes.js';
import type { FilterRef } from '../network/firewall/nic-firewall.js';
import { interfaceElement } from '../network/nic-xml.js';
import { lazy } from '../core/lazy.js';

// Domain XML is built from a structure, never from strings: every user value (paths,
// command line, names) goes through the XML builder's escaping. hvagent's own facts
// about the VM go into <metadata> (libvirt/metadata.ts).

export type { HvMetadata };
/** q35 needs spare PCIe root ports for hotplug (docs/reference/backends.md §2c), beyond those its devices take. */
const SPARE_ROOT_PORTS = 6;
export const GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0';

export interface DiskSpec {
  /** A file (raw, qcow2) or a block device (LVM). */
  type: 'file' | 'block';
  path: string;
  format: 'raw' | 'qcow2';
}

export interface NicSpec {
  /** A libvirt network, or an existing host bridge. */
  source: { network: string } | { bridge: string };
  /** Generated when left out (by libvirt, or by the network agent's stable scheme). */
  mac?: string;
  /** Its network filter: the firewall (docs/NETWORKS.md). */
  filter?: FilterRef | null;
}

/**
 * A read-only optical medium (a cloud-init seed, an installer ISO), or an empty drive
 * (path null) that can be loaded later. On the virtio-scsi bus: Debian's cloud kernel has
 * no AHCI driver, so a SATA CD-ROM is invisible to it (docs/reference/backends.md, addendum).
 */
export interface CdromSpec {
  path: string | null;
  /** A file (default) or a block device (an LVM volume). */
  type?: 'file' | 'block';
  /** What the medium's file holds (default raw): a seed on a qcow2 pool is a qcow2 volume. */
  format?: 'raw' | 'qcow2';
}

export interface DomainSpec {
  name: string;
  vmClass: VmClass;
  memoryMb: number;
  maxMemoryMb: number;
  vcpus: number;
  maxVcpus: number;
  kernel?: { path: string; initrd?: string; cmdline?: string };
  /** Attached as vda, vdb, … in this order; a guest without a kernel boots from the first. */
  disks: DiskSpec[];
  /** Attached as sda, sdb, … on one virtio-scsi controller, after the disks. */
  cdroms?: CdromSpec[];
  /** Boot from the network (PXE) instead of the first disk. */
  networkBoot?: boolean;
  /** Boot from the first CD-ROM (an installer), then the first disk. */
  cdromBoot?: boolean;
  rootfs?: string;
  nics: NicSpec[];
  consoleLog?: string;
  /**
   * qemu-guest-agent's channel (default on). Off on qemu:///embed, where libvirt makes the
   * channel's socket under the embed root and a long root passes the 108-byte socket limit.
   */
  guestAgent?: boolean;
  metadata: HvMetadata;
}

const builder = lazy(() => new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true }));

export function buildDomainXml(spec: DomainSpec): string {
  const domain = spec.vmClass.name === 'lxc' ? containerDomain(spec) : machineDomain(spec);
  return builder().build({ domain: { '@_type': spec.vmClass.domainType, ...domain } }) as string;
}

function common(spec: DomainSpec) {
  return {
    name: spec.name,
    metadata: {
      'hv:vm': {
        '@_xmlns:hv': HV_NAMESPACE,
        ...Object.fromEntries(Object.entries(spec.metadata).filter(([, value]) => value !== undefined).map(([key, value]) => [`hv:${key}`, value])),
      },
    },
    memory: { '@_unit': 'MiB', '#text': spec.maxMemoryMb },
    currentMemory: { '@_unit': 'MiB', '#text': spec.memoryMb },
  };
}

function machineDomain(spec: DomainSpec) {
  const os: Record<string, unknown> = { type: { '@_arch': 'x86_64', '@_machine': 'q35', '#text': 'hvm' } };
  if (spec.kernel) {
    os.kernel = spec.kernel.path;
    if (spec.kernel.initrd) os.initrd = spec.kernel.initrd;
    if (spec.kernel.cmdline) os.cmdline = spec.kernel.cmdline;
  } else {
    os.boot = spec.networkBoot ? [{ '@_dev': 'network' }, { '@_dev': 'hd' }] : spec.cdromBoot ? [{ '@_dev': 'cdrom' }, { '@_dev': 'hd' }] : { '@_dev': 'hd' };
  }
  const serial: Record<string, unknown> = { '@_type': 'pty', target: { '@_port': 0 } };
  if (spec.consoleLog) serial.log = { '@_file': spec.consoleLog, '@_append': 'on' };
  return {
    ...common(spec),
    vcpu: { '@_placement': 'static', '@_current': spec.vcpus, '#text': spec.maxVcpus },
    os,
    features: { acpi: '' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices: {
      controller: [
        { '@_type': 'pci', '@_index': 0, '@_model': 'pcie-root' },
        ...Array.from({ length: SPARE_ROOT_PORTS + pcieDevices(spec) }, () => ({ '@_type': 'pci', '@_model': 'pcie-root-port' })),
        ...(spec.cdroms?.length ? [{ '@_type': 'scsi', '@_index': 0, '@_model': 'virtio-scsi' }] : []),
      ],
      disk: [
        ...spec.disks.map((disk, index) => ({
          '@_type': disk.type,
          '@_device': 'disk',
          driver: { '@_name': 'qemu', '@_type': disk.format },
          source: disk.type === 'block' ? { '@_dev': disk.path } : { '@_file': disk.path },
          target: { '@_dev': diskTarget(index), '@_bus': 'virtio' },
        })),
        ...(spec.cdroms ?? []).map((cdrom, index) => ({
          '@_type': cdrom.type ?? 'file',
          '@_device': 'cdrom',
          driver: { '@_name': 'qemu', '@_type': cdrom.format ?? 'raw' },
          ...(cdrom.path !== null && { source: cdrom.type === 'block' ? { '@_dev': cdrom.path } : { '@_file': cdrom.path } }),
          target: { '@_dev': cdromTarget(index), '@_bus': 'scsi' },
          readonly: '',
        })),
      ],
      interface: spec.nics.map((nic) => interfaceElement({ ...nic, model: 'virtio' })),
      serial,
      console: { '@_type': 'pty', target: { '@_type': 'serial', '@_port': 0 } },
      // qemu-guest-agent's port: a guest that runs the agent tells its addresses (vm info).
      ...(spec.guestAgent !== false && { channel: { '@_type': 'unix', target: { '@_type': 'virtio', '@_name': GUEST_AGENT_CHANNEL } } }),
      memballoon: { '@_model': 'virtio' },
      // Entropy from the host: without it a cloud guest under TCG waits more than a minute
      // for its kernel's random pool before sshd and cloud-init can make keys.
      rng: { '@_model': 'virtio', backend: { '@_model': 'random', '#text': '/dev/urandom' } },
    },
  };
}

/**
 * The devices of a q35 machine that each take a PCIe root port: disks and NICs, the
 * virtio-scsi controller of the CD-ROMs, the guest agent's virtio-serial, the balloon, the
 * RNG, and the USB controller libvirt adds.
 */
function pcieDevices(spec: DomainSpec): number {
  return spec.disks.length + spec.nics.length + (spec.cdroms?.length ? 1 : 0) + (spec.guestAgent === false ? 0 : 1) + 3;
}

function containerDomain(spec: DomainSpec) {
  return {
    ...common(spec),
    vcpu: spec.vcpus,
    os: { type: 'exe', init: '/sbin/init' },
    // Its own network namespace even without a NIC: otherwise it shares the host's, and a
    // NIC plugged in live later would land on the host (docs/NETWORKS.md).
    features: { privnet: '' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices: {
      filesystem: { '@_type': 'mount', source: { '@_dir': spec.rootfs }, target: { '@_dir': '/' } },
      interface: spec.nics.map((nic) => interfaceElement(nic)),
      console: { '@_type': 'pty' },
    },
  };
}

const letters = (n: number): string => (n < 26 ? String.fromCharCode(97 + n) : letters(Math.floor(n / 26) - 1) + letters(n % 26));

/** vda … vdz, then vdaa …: the names the virtio bus gives disks in order. */
export function diskTarget(index: number): string {
  return `vd${letters(index)}`;
}

/** sda, sdb, …: the names the SCSI bus gives CD-ROMs in order. */
export function cdromTarget(index: number): string {
  return `sd${letters(index)}`;
}
