import { statSync } from 'node:fs';
import { runTool } from './run.js';

// What an image template holds, read with `qemu-img info` under its declared format (never
// probed: a "raw" file with a qcow2 header stays raw). A template must be standalone: a
// backing file or an external data file could point anywhere on the host.

export interface ImageFacts {
  virtualSizeMb: number;
  fileBytes: number;
  /** Why the image cannot be a template, when it cannot. */
  problem?: string;
}

interface QemuImgInfo {
  'virtual-size'?: number;
  'backing-filename'?: string;
  'format-specific'?: { data?: { 'data-file'?: string } };
}

// Per process, keyed by the file's identity: a stdio stream of requests reads each image once.
const cache = new Map<string, ImageFacts>();

export async function readImageFacts(path: string, format: 'raw' | 'qcow2', signal?: AbortSignal): Promise<ImageFacts> {
  const stats = statSync(path);
  const key = `${format}:${path}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const info = JSON.parse(await runTool('qemu-img', ['info', '--output=json', '-U', '-f', format, path], { signal, timeoutMs: 60_000 })) as QemuImgInfo;
  const backing = info['backing-filename'] ?? info['format-specific']?.data?.['data-file'];
  const facts: ImageFacts = {
    virtualSizeMb: Math.ceil((info['virtual-size'] ?? stats.size) / 1048576),
    fileBytes: stats.size,
    ...(backing !== undefined && { problem: `depends on another file (${backing}); a template image must be standalone` }),
  };
  cache.set(key, facts);
  return facts;
}
