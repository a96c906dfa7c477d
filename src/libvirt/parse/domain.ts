import { XMLParser } from 'fast-xml-parser';
import { classOfDomainType } from '../../model/vm-classes.js';
import { HV_NAMESPACE } from '../metadata.js';
import { lazy } from '../../core/lazy.js';

export interface DomainDescription {
  name: string;
  uuid: string;
  vm_class: string;
  vcpus: number;
  max_vcpus: number;
  memory_mb: number;
  max_memory_mb: number;
  disks: Array<{ target: string; source: string | null; format: string | null; device: string }>;
  filesystems: Array<{ source: string | null; target: string | null }>;
  nics: Array<{ mac: string | null; network: string | null; bridge: string | null; model: string | null; filter: string | null }>;
  console_log: string | null;
  metadata: Record<string, string>;
}

const LISTS = new Set(['disk', 'interface', 'filesystem', 'serial', 'controller', 'channel']);
const parser = lazy(() => new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => LISTS.has(name),
}));

type Node = Record<string, unknown>;
const node = (value: unknown): Node => (typeof value === 'object' && value !== null ? (value as Node) : {});
const text = (value: unknown): string | null => {
  if (typeof value === 'string') return value;
  const inner = node(value)['#text'];
  return typeof inner === 'string' ? inner : null;
};
const attribute = (value: unknown, name: string): string | null => {
  const found = node(value)[`@_${name}`];
  return typeof found === 'string' ? found : null;
};

/** KiB (libvirt's default unit) or an explicit unit, to MiB. */
function mebibytes(value: unknown): number {
  const amount = Number(text(value) ?? 0);
  const unit = (attribute(value, 'unit') ?? 'KiB').toLowerCase();
  const factor: Record<string, number> = { b: 1 / 1048576, bytes: 1 / 1048576, k: 1 / 1024, kib: 1 / 1024, m: 1, mib: 1, g: 1024, gib: 1024 };
  return Math.floor(amount * (factor[unit] ?? 1 / 1024));
}

export function parseDomainXml(xml: string): DomainDescription {
  const domain = node(parser().parse(xml).domain);
  const devices = node(domain.devices);
  const vcpu = domain.vcpu;
  const maxVcpus = Number(text(vcpu) ?? 1);
  const metadata = hvagentMetadata(node(domain.metadata));
  return {
    name: text(domain.name) ?? '',
    uuid: text(domain.uuid) ?? '',
    vm_class: metadata.vm_class ?? classOfDomainType(attribute(domain, 'type') ?? '') ?? attribute(domain, 'type') ?? 'unknown',
    vcpus: Number(attribute(vcpu, 'current') ?? maxVcpus),
    max_vcpus: maxVcpus,
    memory_mb: mebibytes(domain.currentMemory ?? domain.memory),
    max_memory_mb: mebibytes(domain.memory),
    disks: (devices.disk as unknown[] | undefined ?? []).map((disk) => {
      const source = node(node(disk).source);
      return {
        target: attribute(node(disk).target, 'dev') ?? '',
        source: attribute(source, 'file') ?? attribute(source, 'dev') ?? attribute(source, 'volume') ?? null,
        format: attribute(node(disk).driver, 'type'),
        device: attribute(disk, 'device') ?? 'disk',
      };
    }),
    filesystems: (devices.filesystem as unknown[] | undefined ?? []).map((fs) => ({
      source: attribute(node(fs).source, 'dir'),
      target: attribute(node(fs).target, 'dir'),
    })),
    nics: (devices.interface as unknown[] | undefined ?? []).map((nic) => ({
      mac: attribute(node(nic).mac, 'address'),
      network: attribute(node(nic).source, 'network'),
      bridge: attribute(node(nic).source, 'bridge'),
      model: attribute(node(nic).model, 'type'),
      filter: attribute(node(nic).filterref, 'filter'),
    })),
    console_log: attribute(node((devices.serial as unknown[] | undefined)?.[0]).log, 'file'),
    metadata,
  };
}

/**
 * The state libvirt reports for a virtio channel of a running domain (`connected` once a
 * process in the guest opened the port); null when the domain has no such channel.
 */
export function channelState(xml: string, name: string): 'connected' | 'disconnected' | null {
  const devices = node(node(parser().parse(xml).domain).devices);
  const channel = (devices.channel as unknown[] | undefined ?? []).find((candidate) => attribute(node(candidate).target, 'name') === name);
  if (!channel) return null;
  return attribute(node(channel).target, 'state') === 'connected' ? 'connected' : 'disconnected';
}

/** hvagent's element in <metadata>, whatever prefix the XML gives its namespace. */
function hvagentMetadata(metadata: Node): Record<string, string> {
  for (const [key, value] of Object.entries(metadata)) {
    const element = node(value);
    const prefix = key.includes(':') ? key.slice(0, key.indexOf(':')) : '';
    if (element[prefix ? `@_xmlns:${prefix}` : '@_xmlns'] !== HV_NAMESPACE) continue;
    const facts: Record<string, string> = {};
    for (const [child, content] of Object.entries(element)) {
      if (child.startsWith('@_')) continue;
      const name = child.includes(':') ? child.slice(child.indexOf(':') + 1) : child;
      const value = text(content);
      if (value !== null) facts[name] = value;
    }
    return facts;
  }
  return {};
}
