import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporaryDirectory } from '../files/temporary.js';

/** Runs `work` with the XML in a private 0600 file, removed afterwards (virsh reads XML from files only). */
export async function withXmlFile<T>(xml: string, work: (file: string) => Promise<T>): Promise<T> {
  const directory = temporaryDirectory('xml');
  try {
    const file = join(directory, 'device.xml');
    writeFileSync(file, xml, { mode: 0o600 });
    return await work(file);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
