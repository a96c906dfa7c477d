import type { HvConfig, PoolConfig } from '../config/schema.js';
import type { UndoRecord } from '../files/intents.js';
import type { Rollback } from '../files/rollback.js';
import { openPool } from './pool.js';
import type { Pool } from './types.js';

// A volume's undo as a journal record (files/intents.ts). It carries the pool's
// configuration as it was: the request that finishes the undo may read another
// configuration (or a changed one), and must remove exactly what was made.

/** The journal record that removes volume `name` of `pool`. */
export function volumeRecord(pool: Pool, name: string): UndoRecord {
  return { kind: 'volume', pool: pool.name, name, pool_config: JSON.stringify(pool.config) };
}

/**
 * Registers (and journals) the undo of making volume `name`: for CreateVolumeRequest's
 * beforeMake. Undone without the request's signal: by then it may be aborted (deadline,
 * SIGTERM), and the volume must still go.
 */
export function undoVolumeCreate(rollback: Rollback, pool: Pool, name: string): void {
  rollback.made(`volume ${pool.name}/${name}`, () => pool.delete(name, {}), volumeRecord(pool, name));
}

/** Removes the volume a record names (and a killed create's part file); false when there was none. */
export function removeRecordedVolume(config: HvConfig, record: UndoRecord): Promise<boolean> {
  const poolConfig = JSON.parse(record.pool_config ?? 'null') as PoolConfig | null;
  const pools = poolConfig ? { [record.pool!]: poolConfig } : config.storage.pools;
  return openPool({ ...config, storage: { ...config.storage, pools } }, record.pool!).delete(record.name!, {});
}
