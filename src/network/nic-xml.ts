import { XMLBuilder } from 'fast-xml-parser';
import { lazy } from '../core/lazy.js';

// The <interface> element handed to attach-device and detach-device, built from a
// structure (never concatenated): names and MACs go through the builder's escaping.

export type NicSource = { network: string } | { bridge: string };

export interface InterfaceSpec {
  source: NicSource;
  mac: string;
  /** Left out for containers, whose veth pairs have no model. */
  model?: string;
}

const builder = lazy(() => new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true }));

export function buildInterfaceXml(spec: InterfaceSpec): string {
  const isNetwork = 'network' in spec.source;
  return builder().build({
    interface: {
      '@_type': isNetwork ? 'network' : 'bridge',
      mac: { '@_address': spec.mac },
      source: 'network' in spec.source ? { '@_network': spec.source.network } : { '@_bridge': spec.source.bridge },
      ...(spec.model && { model: { '@_type': spec.model } }),
    },
  }) as string;
}
