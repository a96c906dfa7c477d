import { withTemporaryFile } from '../files/temporary.js';

/** Runs `work` with the XML in a private 0600 file, removed afterwards (virsh reads XML from files only). */
export function withXmlFile<T>(xml: string, work: (file: string) => Promise<T>): Promise<T> {
  return withTemporaryFile('xml', 'device.xml', xml, work);
}
