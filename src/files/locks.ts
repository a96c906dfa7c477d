import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { writingIn } from '../core/disk-errors.js';
import { HvError } from '../core/errors.js';
import { currentScope } from '../core/scope.js';
import { ToolError } from '../process/failure.js';
import { runProcess } from '../process/run.js';
import { sha256Hex } from '../core/crypto.js';

// One mutating request per VM (or volume) at a time, across processes. The lock is a
// kernel flock(2) on an open file description this process holds: we open the lock file
// and hand that descriptor to `flock --exclusive 3`, which locks it and exits. The lock
// belongs to the open file description, so it stays held by our descriptor until we close
// it, or until this process ends for any reason, even SIGKILL, when the kernel closes it.
// No lock file can outlive its owner, so nothing is ever stale; and taking a lock costs
// one short-lived process. (Node opens files close-on-exec: no other child inherits it.)

export interface LockOptions {
  directory: string;
  /** Epoch ms after which waiting is given up. */
  deadline: number;
  /** Shared with other shared holders (readers); an exclusive holder waits for them all. Default exclusive. */
  shared?: boolean;
}

// A key is one file name in the lock directory: no '/', so it cannot leave it. Long enough
// for `volume-<pool>.<name>` (pool ≤ 32, volume ≤ 96 characters).
const LOCK_NAME = /^[a-z]+-[A-Za-z0-9][A-Za-z0-9_.-]{0,159}$/;

/**
 * The lock keys hvagent uses. Lock order everywhere: a VM's, then its volumes', then
 * (briefly) a pool's or the host's; the pool and host locks are never held together.
 */
export const lockKey = {
  vm: (name: string) => `vm-${name}`,
  // Pool names have no '.', so `<pool>.<name>` names one volume only.
  volume: (pool: string, name: string) => `volume-${pool}.${name}`,
  /** Held around a pool's quota check and the change it allows. */
  pool: (pool: string) => `pool-${pool}`,
  /** Held around the admission check and the define, start or resize it allows (src/vm/admission.ts). */
  host: () => 'host-admission',
  /** Held around a change to a template catalogue's manifest (`id`: the catalogue's, see templates/). */
  catalogue: (id: string) => `catalogue-${id}`,
  /** Shared while a request uses a catalogue's files; exclusive to remove one. */
  templateFiles: (id: string) => `templatefiles-${id}`,
  /** A disk or root directory named by path, from the in-use check to the define (a hash: paths have '/'). */
  path: (real: string) => `path-${sha256Hex(real).slice(0, 40)}`,
  /** Held while a mutating request with an id runs, so that its retry waits for its reply (dispatch/idempotency.ts). */
  reply: (key: string) => `reply-${key}`,
  /** Held while a dead request's intent is being undone (files/intents.ts): by one recoverer at a time. */
  intent: (name: string) => `intent-${name.replace(/\.json$/, '')}`,
  /** Held while the pools the API made (the drop-in files) change. */
  poolDefinitions: () => 'pools-definitions',
  /** An API-made pool: shared by each volume creation in it, exclusive while the pool is deleted. */
  poolUse: (pool: string) => `pooluse-${pool}`,
  /** Held while networks are created or removed: names and subnets are checked against all of them. */
  networkDefinitions: () => 'networks-definitions',
  /** Held around a change to one network (its state, its DHCP reservations). */
  network: (name: string) => `network-${name}`,
  /** Held around a change to one named firewall rule set or a NIC's own filter. */
  filter: (name: string) => `filter-${name}`,
};

export async function withLock<T>(key: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  const held = await takeLock(key, options, Math.max(1, Math.floor((options.deadline - Date.now()) / 1000) - 1));
  try {
    return await work();
  } finally {
    held.release();
  }
}

/** A lock taken by takeLock, until released (or this process ends). */
export interface HeldLock {
  release(): void;
}

/**
 * Takes the lock and returns it held, for a holder whose work does not fit one callback
 * (a lock taken while other work runs). `waitSeconds` 0: only if it is free right now;
 * undefined is returned when it is not.
 */
export async function takeLock(key: string, options: Omit<LockOptions, 'deadline'>, waitSeconds: 0): Promise<HeldLock | undefined>;
export async function takeLock(key: string, options: Omit<LockOptions, 'deadline'>, waitSeconds: number): Promise<HeldLock>;
export async function takeLock(key: string, options: Omit<LockOptions, 'deadline'>, waitSeconds: number): Promise<HeldLock | undefined> {
  if (!LOCK_NAME.test(key)) throw new HvError('INTERNAL', `Refusing lock name ${JSON.stringify(key)}`);
  const place = { what: 'the lock directory', setting: 'paths.lock_dir', path: options.directory };
  const descriptor = writingIn(place, () => {
    mkdirSync(options.directory, { recursive: true, mode: 0o700 });
    return openSync(join(options.directory, `${key}.lock`), constants.O_RDONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  });
  let taken = false;
  try {
    taken = await acquire(descriptor, key, waitSeconds, options.shared === true);
  } finally {
    if (!taken) closeSync(descriptor);
  }
  if (!taken) return undefined;
  let open = true;
  const held = {
    release() {
      if (open) closeSync(descriptor);
      open = false;
    },
  };
  const afterTaken = currentScope()?.afterLockTaken;
  if (afterTaken && !key.startsWith('intent-')) {
    try {
      await afterTaken(key);
    } catch (error) {
      held.release();
      throw error;
    }
  }
  return held;
}

async function acquire(descriptor: number, key: string, waitSeconds: number, shared: boolean): Promise<boolean> {
  let ended;
  const wait = waitSeconds > 0 ? ['--timeout', String(waitSeconds)] : ['--nonblock'];
  try {
    // The descriptor goes down as fd 3: flock locks the open file description we hold.
    ended = await runProcess('flock', [shared ? '--shared' : '--exclusive', ...wait, '3'], { descriptors: [descriptor], allowNonZeroExit: true });
  } catch (error) {
    if (error instanceof ToolError && error.code !== 'CANCELLED') throw new HvError('COMMAND_FAILED', `Could not lock ${key}: ${error.message}`, undefined, { cause: error });
    throw error;
  }
  if (ended.exitCode === 0) return true;
  const said = ended.stderr.trim();
  if (waitSeconds === 0 && ended.exitCode === 1 && !said) return false;
  const why = ended.exitCode === 1 && !said ? `another request held it for more than ${waitSeconds} s` : said || `flock ended with exit status ${ended.exitCode}`;
  throw new HvError('CONFLICT', `Could not lock ${key}: ${why}`);
}

/** Holds every lock of `keys`, taken in the order given, for the duration of `work`. */
export function withLocks<T>(keys: readonly string[], options: LockOptions, work: () => Promise<T>): Promise<T> {
  return keys.reduceRight<() => Promise<T>>((inner, key) => () => withLock(key, options, inner), work)();
}
