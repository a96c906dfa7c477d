import { XMLParser } from 'fast-xml-parser';
import { runVirshBatch, stdoutOrThrow } from '../libvirt/index.js';
import type { Located } from '../libvirt/domains/locate.js';
import { lazy } from '../core/lazy.js';

// A VM's NICs as libvirt has them: in the running domain (with the host device, vnetN)
// and in the persistent definition. The two differ while a change waits for the next boot.

export interface DomainNic {
  mac: string;
  /** network, bridge, direct, user, … */
  type: string;
  network: string | null;
  /** The host bridge it is plugged into (for a network NIC: the network's, while running). */
  bridge: string | null;
  model: string | null;
  /** Host side of the NIC (vnetN) while the VM runs. */
  device: string | null;
  /** The network filter it carries (<filterref filter=…>), if any. */
  filter: string | null;
}

export interface VmNics {
  /** null when the VM is not running. */
  live: DomainNic[] | null;
  persistent: DomainNic[];
  /**
   * Whether the running domain has a network namespace of its own. A container started
   * with no NIC and no <privnet/> shares the host's: a NIC plugged into it live would land
   * in the host's namespace, so it waits for the next boot instead.
   */
  privateNetwork: boolean;
}

const parser = lazy(() => new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'interface',
}));

type Node = Record<string, unknown>;
const node = (value: unknown): Node => (typeof value === 'object' && value !== null ? (value as Node) : {});
const attribute = (value: unknown, name: string): string | null => {
  const found = node(value)[`@_${name}`];
  return typeof found === 'string' ? found : null;
};

function parseDomain(xml: string): { nics: DomainNic[]; privnet: boolean } {
  const domain = node(parser().parse(xml).domain);
  const interfaces = (node(domain.devices).interface as unknown[] | undefined) ?? [];
  return {
    nics: interfaces.flatMap((element) => {
      const mac = attribute(node(element).mac, 'address');
      if (!mac) return [];
      const source = node(element).source;
      return [{
        mac: mac.toLowerCase(),
        type: attribute(element, 'type') ?? 'unknown',
        network: attribute(source, 'network'),
        bridge: attribute(source, 'bridge'),
        model: attribute(node(element).model, 'type'),
        device: attribute(node(element).target, 'dev'),
        filter: attribute(node(element).filterref, 'filter'),
      }];
    }),
    privnet: 'privnet' in node(domain.features),
  };
}

export function parseDomainNics(xml: string): DomainNic[] {
  return parseDomain(xml).nics;
}

/** Both views in one virsh process. */
export async function readVmNics(vm: Located, signal?: AbortSignal): Promise<VmNics> {
  const running = vm.state === 'running' || vm.state === 'paused';
  const [inactive, active] = await runVirshBatch(
    [['dumpxml', '--inactive', `--domain=${vm.name}`], ...(running ? [['dumpxml', `--domain=${vm.name}`]] : [])],
    { uri: vm.uri, ...(signal && { signal }) },
  );
  const persistent = parseDomainNics(stdoutOrThrow(inactive!));
  if (!active) return { live: null, persistent, privateNetwork: false };
  const live = parseDomain(stdoutOrThrow(active));
  return { live: live.nics, persistent, privateNetwork: vm.driver !== 'lxc' || live.privnet || live.nics.length > 0 };
}
