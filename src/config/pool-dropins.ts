import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { HvError } from '../core/errors.js';
import { poolFileValidator } from '../ddl/registry.js';
import type { PoolConfig } from './schema.js';
import { compareText } from '../core/text-order.js';

// The pools the API makes, one YAML file each in a drop-in directory beside hvagent.yaml:
// `pools.d/<name>.yaml` holds what hvagent.yaml's `storage.pools.<name>` would. Files are
// written under a temporary name and renamed into place, so a reader sees the old file or
// the new one, never half of one; names that are not `<pool name>.yaml` (temporary files,
// an editor's backups) are not pools.

const DROPIN = /^([a-z][a-z0-9_-]{0,31})\.yaml$/;

export async function readPoolDropins(directory: string): Promise<Record<string, PoolConfig>> {
  let entries: string[];
  try {
    entries = readdirSync(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new HvError('CONFIG_INVALID', `Cannot read the pool drop-in directory ${directory}: ${(error as Error).message}`);
  }
  const files = entries.flatMap((entry) => {
    const match = DROPIN.exec(entry);
    return match ? [{ name: match[1]!, file: join(directory, entry) }] : [];
  });
  if (files.length === 0) return {};
  // Loaded here, not at start-up: most requests never read the configuration.
  const { parse } = await import('yaml');
  const pools: Record<string, PoolConfig> = {};
  for (const { name, file } of files.sort((a, b) => compareText(a.name, b.name))) {
    let raw: unknown;
    try {
      raw = parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new HvError('CONFIG_INVALID', `Pool drop-in ${file} is not valid YAML: ${(error as Error).message}`);
    }
    const validatePoolFile = poolFileValidator();
    if (!validatePoolFile(raw)) {
      const problem = validatePoolFile.errors?.[0];
      const where = problem?.instancePath ? problem.instancePath.slice(1) : 'top level';
      const why = problem?.keyword === 'additionalProperties' ? `has an unknown key '${String(problem.params.additionalProperty)}'` : (problem?.message ?? 'is invalid');
      throw new HvError('CONFIG_INVALID', `Pool drop-in ${file}: ${where} ${why}`);
    }
    pools[name] = raw as PoolConfig;
  }
  return pools;
}

export function poolDropinFile(directory: string, name: string): string {
  return join(directory, `${name}.yaml`);
}

/** Writes `<name>.yaml` atomically (temporary file, fsync, rename); the caller holds the drop-ins' lock. */
export async function writePoolDropin(directory: string, name: string, pool: PoolConfig): Promise<void> {
  const { stringify } = await import('yaml');
  mkdirSync(directory, { recursive: true, mode: 0o755 });
  const temporary = join(directory, `.${name}.yaml.${randomBytes(4).toString('hex')}`);
  try {
    const descriptor = openSync(temporary, 'wx', 0o644);
    try {
      writeSync(descriptor, `# Made by hvagent (pool create); removed by pool delete.\n${stringify(pool)}`);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporary, poolDropinFile(directory, name));
    syncDirectory(directory);
  } finally {
    rmSync(temporary, { force: true });
  }
}

export function removePoolDropin(directory: string, name: string): void {
  rmSync(poolDropinFile(directory, name), { force: true });
  syncDirectory(directory);
}

/** The rename or removal itself survives a crash only once the directory is synced. */
function syncDirectory(directory: string): void {
  const descriptor = openSync(directory, 'r');
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}
