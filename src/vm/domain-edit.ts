import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { lazy } from '../core/lazy.js';

// Edits of a defined domain's XML for what a driver cannot change through its API
// (the LXC driver has no setvcpus). The document is parsed and rebuilt with order and
// attributes preserved; only the named element changes.

const options = { ignoreAttributes: false, attributeNamePrefix: '@_', preserveOrder: true, parseTagValue: false, parseAttributeValue: false };
const parser = lazy(() => new XMLParser(options));
const builder = lazy(() => new XMLBuilder({ ...options, format: true, suppressEmptyNode: true }));

type Ordered = Array<Record<string, unknown>>;

export function withVcpus(xml: string, count: number): string {
  const document = parser().parse(xml) as Ordered;
  const domain = document.find((node) => 'domain' in node)?.domain as Ordered | undefined;
  const vcpu = domain?.find((node) => 'vcpu' in node);
  if (!domain || !vcpu) throw new Error('domain XML has no <vcpu> element');
  vcpu.vcpu = [{ '#text': String(count) }];
  delete vcpu[':@'];
  return builder().build(document) as string;
}
