import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diskError } from '../core/disk-errors.js';
import { HvError } from '../core/errors.js';
import { temporaryDirectory, temporaryPlace } from '../files/temporary.js';
import { ToolError } from '../process/failure.js';
import { runProcess } from '../process/run.js';
import { NOCLOUD_FILES, type NoCloudFiles } from './nocloud.js';

// The NoCloud seed of a QEMU guest: an ISO 9660 image labelled `cidata` holding the three
// files at its root, as cloud-localds makes it. The files are written into a private
// directory (0700, the user data may hold secrets) that is removed whatever happens.

export const SEED_VOLUME_ID = 'cidata';
const TOOL_TIMEOUT_MS = 30_000;

/**
 * Makes the seed image, hands its path to `use`, then removes it and its directory (0700:
 * the user data may hold secrets; a killed request's is removed by the next, files/temporary.ts).
 */
export async function withSeedIso<T>(files: NoCloudFiles, signal: AbortSignal | undefined, use: (iso: string) => Promise<T>): Promise<T> {
  const full = (error: unknown): never => {
    throw diskError(error, temporaryPlace()) ?? error;
  };
  const directory = temporaryDirectory('seed');
  try {
    const paths = await Promise.all(
      NOCLOUD_FILES.map(async (name) => {
        const path = join(directory, name);
        await writeFile(path, files[name], { mode: 0o600, flag: 'wx' }).catch(full);
        return path;
      }),
    );
    const iso = join(directory, 'seed.iso');
    await makeIso(iso, paths, signal);
    return await use(iso);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** genisoimage (what cloud-localds runs), else xorriso's mkisofs emulation: the same arguments. */
async function makeIso(iso: string, paths: readonly string[], signal: AbortSignal | undefined): Promise<void> {
  const args = ['-quiet', '-input-charset', 'utf-8', '-output', iso, '-volid', SEED_VOLUME_ID, '-joliet', '-rock', ...paths];
  const options = { timeoutMs: TOOL_TIMEOUT_MS, ...(signal && { signal }) };
  try {
    await runProcess('genisoimage', args, options);
  } catch (error) {
    if (!(error instanceof ToolError && error.notInstalled)) throw error;
    try {
      await runProcess('xorriso', ['-as', 'mkisofs', ...args], options);
    } catch (fallback) {
      if (!(fallback instanceof ToolError && fallback.notInstalled)) throw fallback;
      throw new HvError('UNSUPPORTED', 'A cloud-init seed needs genisoimage or xorriso on this host (apt-get install genisoimage)', { tool: 'genisoimage' });
    }
  }
}
