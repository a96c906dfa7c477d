import { XMLBuilder, XMLParser } from 'fast-xml-parser';

// A NIC's <interface> element as libvirt has it, with only its <filterref> changed, for
// `virsh update-device`: libvirt replaces the whole device with the element it is given,
// so everything else the NIC has (model, driver options, bandwidth, boot order …) must be
// handed back as it was. Parsed and rebuilt in document order, never edited as text.

type Ordered = Array<Record<string, unknown>>;
const ATTRIBUTES = ':@';

const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, parseAttributeValue: false });
const builder = new XMLBuilder({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true });

const children = (items: Ordered, tag: string): Ordered[] => items.flatMap((item) => (tag in item ? [item[tag] as Ordered] : []));
const attributesOf = (item: Record<string, unknown>) => (item[ATTRIBUTES] ?? {}) as Record<string, string>;

export interface FilterChange {
  readonly name: string | null;
  /** Variables of the filter; when empty, the ones the NIC's filter had are kept. */
  readonly parameters: Readonly<Record<string, string>>;
}

/** The NIC with this MAC in a domain XML, its filter replaced; undefined when the domain has no such NIC. */
export function interfaceWithFilter(domainXml: string, mac: string, filter: FilterChange): string | undefined {
  const document = parser.parse(domainXml) as Ordered;
  const devices = children(children(document, 'domain')[0] ?? [], 'devices')[0] ?? [];
  const element = devices.find((item) => 'interface' in item && children(item.interface as Ordered, 'mac').length > 0 && macOf(item.interface as Ordered) === mac);
  if (!element) return undefined;
  const content = element.interface as Ordered;
  const previous = content.find((item) => 'filterref' in item);
  const kept = content.filter((item) => !('filterref' in item));
  const parameters = Object.keys(filter.parameters).length > 0
    ? Object.entries(filter.parameters).map(([name, value]) => ({ parameter: [], [ATTRIBUTES]: { '@_name': name, '@_value': value } }))
    : ((previous?.filterref as Ordered | undefined) ?? []).filter((item) => 'parameter' in item);
  const rebuilt = filter.name === null ? kept : [...kept, { filterref: parameters, [ATTRIBUTES]: { '@_filter': filter.name } }];
  return builder.build([{ interface: rebuilt, [ATTRIBUTES]: attributesOf(element) }]) as string;
}

function macOf(content: Ordered): string | undefined {
  const mac = content.find((item) => 'mac' in item);
  return mac ? attributesOf(mac)['@_address']?.toLowerCase() : undefined;
}
