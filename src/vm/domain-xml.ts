import { XMLBuilder } from 'fast-xml-parser';
import type { VmClass } from './classes.js';

// Domain XML is built from a structure, never from strings: every user value (paths,
// command line, names) goes through the XML builder's escaping. hvagent's own facts
// about the VM live in <metadata> under its namespace, so libvirt stays the only place
// where a VM's truth is kept.

export const HV_NAMESPACE = 'https://hvagent.dev/xmlns/domain/1';
/** q35 needs spare PCIe root ports for hotplug (backends.md §2c). */
const SPARE_ROOT_PORTS = 6;

export interface HvMetadata {
  vm_class: string;
  created_at: string;
  created_by?: string;
  request_id?: string;
  template?: string;
}

export interface DomainSpec {
  name: string;
  vmClass: VmClass;
  memoryMb: number;
  maxMemoryMb: number;
  vcpus: number;
  maxVcpus: number;
  kernel?: { path: string; initrd?: string; cmdline?: string };
  disk?: { path: string; format: 'raw' | 'qcow2' };
  rootfs?: string;
  network?: string;
  consoleLog?: string;
  metadata: HvMetadata;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true });

export function buildDomainXml(spec: DomainSpec): string {
  const domain = spec.vmClass.name === 'lxc' ? containerDomain(spec) : machineDomain(spec);
  return builder.build({ domain: { '@_type': spec.vmClass.domainType, ...domain } }) as string;
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
    os.boot = { '@_dev': 'hd' };
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
        ...Array.from({ length: SPARE_ROOT_PORTS }, () => ({ '@_type': 'pci', '@_model': 'pcie-root-port' })),
      ],
      ...(spec.disk && {
        disk: {
          '@_type': 'file',
          '@_device': 'disk',
          driver: { '@_name': 'qemu', '@_type': spec.disk.format },
          source: { '@_file': spec.disk.path },
          target: { '@_dev': 'vda', '@_bus': 'virtio' },
        },
      }),
      ...(spec.network && {
        interface: { '@_type': 'network', source: { '@_network': spec.network }, model: { '@_type': 'virtio' } },
      }),
      serial,
      console: { '@_type': 'pty', target: { '@_type': 'serial', '@_port': 0 } },
      memballoon: { '@_model': 'virtio' },
    },
  };
}

function containerDomain(spec: DomainSpec) {
  return {
    ...common(spec),
    vcpu: spec.vcpus,
    os: { type: 'exe', init: '/sbin/init' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices: {
      filesystem: { '@_type': 'mount', source: { '@_dir': spec.rootfs }, target: { '@_dir': '/' } },
      ...(spec.network && { interface: { '@_type': 'network', source: { '@_network': spec.network } } }),
      console: { '@_type': 'pty' },
    },
  };
}
