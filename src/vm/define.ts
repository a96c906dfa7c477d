import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { virsh } from './hypervisor.js';

/** `virsh define` of an XML document, through a private 0600 file removed afterwards. */
export async function defineDomain(uri: string, xml: string, signal?: AbortSignal): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'hvagent-define-'));
  try {
    const file = join(directory, 'domain.xml');
    writeFileSync(file, xml, { mode: 0o600 });
    await virsh(uri, ['define', file], signal);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
