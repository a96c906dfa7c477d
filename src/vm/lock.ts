import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { HvError } from '../core/errors.js';
import { currentScope } from '../core/scope.js';

// One mutating request per VM (or volume) at a time, across processes. The lock is a
// kernel flock(2) held by a `flock … cat` child whose stdin is our pipe: when this
// process ends for any reason, even SIGKILL, the pipe closes, cat exits and the kernel
// drops the lock. No lock file can outlive its owner, so nothing is ever stale.
// We know the lock is held when cat, which flock starts only then, echoes back the
// byte we wrote into its stdin.

export interface LockOptions {
  directory: string;
  /** Epoch ms after which waiting is given up. */
  deadline: number;
}

// A key is one file name in the lock directory: no '/', so it cannot leave it. Long enough
// for `volume-<pool>.<name>` (pool ≤ 32, volume ≤ 96 characters).
const LOCK_NAME = /^[a-z]+-[A-Za-z0-9][A-Za-z0-9_.-]{0,159}$/;

export async function withLock<T>(key: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  if (!LOCK_NAME.test(key)) throw new HvError('INTERNAL', `Refusing lock name ${JSON.stringify(key)}`);
  mkdirSync(options.directory, { recursive: true, mode: 0o700 });
  const waitSeconds = Math.max(1, Math.floor((options.deadline - Date.now()) / 1000) - 1);
  const holder = execa('flock', ['--exclusive', '--timeout', String(waitSeconds), join(options.directory, `${key}.lock`), 'cat'], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    env: { LC_ALL: 'C' },
  });
  currentScope()?.track(holder);
  const released = async () => {
    holder.stdin?.end();
    await holder;
  };
  try {
    await acquired(holder, key, waitSeconds);
  } catch (error) {
    holder.kill('SIGKILL');
    await holder;
    throw error;
  }
  try {
    return await work();
  } finally {
    await released();
  }
}

function acquired(holder: ReturnType<typeof execa>, key: string, waitSeconds: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let said = '';
    holder.stdout?.once('data', () => resolve());
    holder.stderr?.on('data', (chunk: Buffer) => {
      said += chunk.toString();
    });
    holder.stdin?.write('\n');
    holder.then((result) => {
      const why = said.includes('timeout') ? `another request held it for more than ${waitSeconds} s` : said.trim() || `flock exited with ${result.exitCode}`;
      reject(new HvError('CONFLICT', `Could not lock ${key}: ${why}`));
    }, reject);
  });
}
