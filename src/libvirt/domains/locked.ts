import type { HvConfig } from '../../config/schema.js';
import { lockKey, withLock } from '../../files/locks.js';
import { mustLocate, type Located } from './locate.js';

// A change to a VM holds the VM's lock for its whole duration, across processes, and looks
// the VM up only once it holds it: what it acts on is the VM as it is now, not as it was
// before another request changed it.

export interface LockedContext {
  /** Epoch ms after which waiting for the lock is given up. */
  readonly deadline: number;
  readonly signal?: AbortSignal;
}

/** Runs `work` under the lock of the VM named `name`, which need not exist (create, delete). */
export function withVmLock<T>(config: HvConfig, name: string, ctx: LockedContext, work: () => Promise<T>): Promise<T> {
  return withLock(lockKey.vm(name), { directory: config.paths.lock_dir, deadline: ctx.deadline }, work);
}

/** Runs `work` on the VM under its lock; NOT_FOUND when there is no such VM. */
export function withLockedVm<T>(config: HvConfig, name: string, ctx: LockedContext, work: (vm: Located) => Promise<T>): Promise<T> {
  return withVmLock(config, name, ctx, async () => work(await mustLocate(config, name, ctx.signal)));
}
