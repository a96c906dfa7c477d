import { statSync } from 'node:fs';
import { HvError } from '../core/errors.js';
import { openNoFollow, readQcow2Header } from '../storage/qcow2-header.js';

// What an image template holds, read under its declared format (never probed: a "raw" file
// with a qcow2 header stays raw). A qcow2 template's size and dependencies are in its
// header, read directly: provisioning is on a hot path and `qemu-img info` would cost a
// process. A template must be standalone: a backing file or an external data file could
// point anywhere on the host.

export interface ImageFacts {
  virtualSizeMb: number;
  fileBytes: number;
  /** Why the image cannot be a template, when it cannot. */
  problem?: string;
}

// Per process, keyed by the file's identity: a stdio stream of requests reads each image once.
const cache = new Map<string, ImageFacts>();

export async function readImageFacts(path: string, format: 'raw' | 'qcow2'): Promise<ImageFacts> {
  const stats = statSync(path);
  const key = `${format}:${path}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const facts = format === 'raw' ? { virtualSizeMb: Math.ceil(stats.size / 1048576), fileBytes: stats.size } : await qcow2Facts(path, stats.size);
  cache.set(key, facts);
  return facts;
}

async function qcow2Facts(path: string, fileBytes: number): Promise<ImageFacts> {
  const handle = await openNoFollow(path);
  try {
    const header = await readQcow2Header(handle);
    if (!header) throw new HvError('CONFIG_INVALID', `${path} is not a qcow2 image`);
    const dependsOn = header.backing ?? (header.externalDataFile ? 'an external data file' : undefined);
    return {
      virtualSizeMb: Math.ceil(header.virtualSize / 1048576),
      fileBytes,
      ...(dependsOn !== undefined && { problem: `depends on another file (${dependsOn}); a template image must be standalone` }),
    };
  } finally {
    await handle.close();
  }
}
