import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMPLATE_DEFAULTS } from '../../../src/config/load.js';
import { DEFAULT_OPERATIONS, DEFAULT_SERVER, type HvConfig, type PoolConfig } from '../../../src/config/schema.js';
import { HvError } from '../../../src/core/errors.js';

/** A configuration holding only the given pools, with its own lock directory. */
export function configWith(pools: Record<string, PoolConfig>): HvConfig {
  return {
    libvirt: { uri: 'test:///default', lxc_uri: 'test:///default' },
    authorization: { read_only: false, rules: [] },
    agents: { disabled: [] },
    paths: { images: [], lock_dir: mkdtempSync(join(tmpdir(), 'hv-storage-locks-')), console_log_dir: '/nonexistent', jobs_dir: '/nonexistent' },
    storage: { pools },
    templates: { ...TEMPLATE_DEFAULTS, catalogue: '/nonexistent' },
    server: DEFAULT_SERVER,
    operations: DEFAULT_OPERATIONS,
    source: { file: null, uri_from: 'default' },
  };
}

/** The HvError `work` throws (fails the test when it throws nothing or something else). */
export async function refusal(work: () => unknown): Promise<HvError> {
  try {
    await work();
  } catch (error) {
    if (error instanceof HvError) return error;
    throw error;
  }
  throw new Error('expected a refusal, but it was accepted');
}
