import { virsh } from '../virsh.js';
import { withXmlFile } from '../xml-file.js';

/** `virsh define` of an XML document, through a private 0600 file removed afterwards. */
export async function defineDomain(uri: string, xml: string, signal?: AbortSignal): Promise<void> {
  await withXmlFile(xml, (file) => virsh(uri, ['define', file], signal));
}
