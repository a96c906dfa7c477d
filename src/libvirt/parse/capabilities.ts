import { XMLParser } from 'fast-xml-parser';
import { VirshParseError } from './key-value-lines.js';
import { lazy } from '../../core/lazy.js';

/** The parts of `virsh capabilities` hvagent reports. */
export interface Capabilities {
  readonly hostCpu: {
    readonly arch: string;
    /** libvirt's CPU model name (e.g. "kvm64", "EPYC-Milan"); absent for some drivers. */
    readonly model?: string;
    readonly vendor?: string;
    /** Host-wide topology; absent for some drivers (e.g. the test driver). */
    readonly topology?: { readonly sockets: number; readonly dies: number; readonly cores: number; readonly threads: number };
  };
  readonly numaCells: readonly CapabilitiesNumaCell[];
  readonly guests: readonly CapabilitiesGuest[];
}

export interface CapabilitiesNumaCell {
  readonly id: number;
  readonly memoryKiB: number;
  readonly cpuIds: readonly number[];
}

export interface CapabilitiesGuest {
  /** "hvm" for full virtualisation, "exe" for containers, "xen"... */
  readonly osType: string;
  readonly arch: string;
  /** Domain types offered for this guest, e.g. ["qemu", "kvm"]. */
  readonly domainTypes: readonly string[];
}

// Elements that may repeat must always parse as arrays, even when only one is present.
const REPEATED = new Set([
  'capabilities.host.topology.cells.cell',
  'capabilities.host.topology.cells.cell.cpus.cpu',
  'capabilities.guest',
  'capabilities.guest.arch.domain',
]);

const parser = lazy(() => new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name, jpath) => REPEATED.has(String(jpath)),
}));

type Node = Record<string, unknown>;

export function parseCapabilities(xml: string): Capabilities {
  let doc: Node;
  try {
    doc = parser().parse(xml) as Node;
  } catch (error) {
    throw new VirshParseError('capabilities', `invalid XML (${(error as Error).message})`, xml);
  }
  const caps = child(doc, 'capabilities');
  const host = child(caps, 'host');
  const cpu = child(host, 'cpu');
  const arch = text(cpu?.['arch']);
  if (!caps || !arch) throw new VirshParseError('capabilities', 'missing <capabilities><host><cpu><arch>', xml);

  const topologyNode = child(cpu, 'topology');
  const model = text(cpu?.['model']);
  const vendor = text(cpu?.['vendor']);
  return {
    hostCpu: {
      arch,
      ...(model ? { model } : {}),
      ...(vendor ? { vendor } : {}),
      ...(topologyNode
        ? {
            topology: {
              sockets: integer(topologyNode['@_sockets'], 'cpu topology sockets', xml),
              dies: topologyNode['@_dies'] === undefined ? 1 : integer(topologyNode['@_dies'], 'cpu topology dies', xml),
              cores: integer(topologyNode['@_cores'], 'cpu topology cores', xml),
              threads: integer(topologyNode['@_threads'], 'cpu topology threads', xml),
            },
          }
        : {}),
    },
    numaCells: list(child(child(host, 'topology'), 'cells')?.['cell']).map((cell) => ({
      id: integer(cell['@_id'], 'NUMA cell id', xml),
      memoryKiB: memoryKiB(cell['memory'], xml),
      cpuIds: list(child(cell, 'cpus')?.['cpu']).map((c) => integer(c['@_id'], 'NUMA cpu id', xml)),
    })),
    guests: list(caps['guest']).map((guest) => {
      const guestArch = child(guest, 'arch');
      return {
        osType: text(guest['os_type']) ?? '',
        arch: text(guestArch?.['@_name']) ?? '',
        domainTypes: list(guestArch?.['domain']).map((d) => text(d['@_type']) ?? ''),
      };
    }),
  };
}

function child(node: Node | undefined, name: string): Node | undefined {
  const value = node?.[name];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Node) : undefined;
}

function list(value: unknown): Node[] {
  if (!Array.isArray(value)) return [];
  // An empty element such as <domain type='qemu'/> parses as an object; text-only as a string.
  return value.map((item) => (item !== null && typeof item === 'object' ? (item as Node) : { '#text': item }));
}

/** Text of an element or attribute, whether it parsed as a string or as { '#text' }. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (value !== null && typeof value === 'object') return text((value as Node)['#text']);
  return undefined;
}

function integer(value: unknown, what: string, xml: string): number {
  const raw = text(value);
  if (raw === undefined || !/^\d+$/.test(raw)) {
    throw new VirshParseError('capabilities', `${what} is ${JSON.stringify(raw)}, expected an integer`, xml);
  }
  return Number(raw);
}

const KIB_PER_UNIT: Record<string, number> = { b: 1 / 1024, bytes: 1 / 1024, kib: 1, k: 1, mib: 1024, m: 1024, gib: 1024 ** 2, g: 1024 ** 2 };

function memoryKiB(value: unknown, xml: string): number {
  const amount = integer(value, 'NUMA cell memory', xml);
  const unit = (value !== null && typeof value === 'object' ? text((value as Node)['@_unit']) : undefined) ?? 'KiB';
  const factor = KIB_PER_UNIT[unit.toLowerCase()];
  if (factor === undefined) throw new VirshParseError('capabilities', `unknown memory unit ${JSON.stringify(unit)}`, xml);
  return Math.floor(amount * factor);
}
