import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RequestScope, runInScope } from '../../../src/core/scope.js';
import { takeLock, withLock } from '../../../src/files/locks.js';

const directory = mkdtempSync(join(tmpdir(), 'hv-locks-'));
const options = () => ({ directory, deadline: Date.now() + 30_000 });

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

describe('per-object locks (kernel flock on a descriptor that dies with us)', () => {
  test('two holders of one key run one after the other', async () => {
    const events: string[] = [];
    const firstInside = deferred();
    const letFirstGo = deferred();
    const first = withLock('vm-a', options(), async () => {
      events.push('first in');
      firstInside.release();
      await letFirstGo.promise;
      events.push('first out');
    });
    await firstInside.promise;
    const second = withLock('vm-a', options(), async () => {
      events.push('second in');
    });
    // The second request is waiting in the kernel while the first holds the lock.
    const probe = await execa('flock', ['--nonblock', join(directory, 'vm-a.lock'), 'true'], { reject: false });
    expect(probe.exitCode).toBe(1);
    letFirstGo.release();
    await Promise.all([first, second]);
    expect(events).toEqual(['first in', 'first out', 'second in']);
  });

  test('shared holders hold a key together; an exclusive one waits for them all, and a no-wait attempt says it is taken', async () => {
    const first = await takeLock('templatefiles-x', { directory, shared: true }, 10);
    const second = await takeLock('templatefiles-x', { directory, shared: true }, 10);
    expect(await takeLock('templatefiles-x', { directory }, 0)).toBeUndefined();
    let exclusive = false;
    const waiting = takeLock('templatefiles-x', { directory }, 20).then((held) => {
      exclusive = true;
      return held;
    });
    first.release();
    // One shared holder remains: a non-blocking exclusive attempt from outside still fails.
    expect((await execa('flock', ['--nonblock', '--exclusive', join(directory, 'templatefiles-x.lock'), 'true'], { reject: false })).exitCode).toBe(1);
    expect(exclusive).toBe(false);
    second.release();
    const held = await waiting;
    expect(exclusive).toBe(true);
    expect(await takeLock('templatefiles-x', { directory, shared: true }, 0)).toBeUndefined();
    held.release();
    (await takeLock('templatefiles-x', { directory, shared: true }, 0))!.release();
  });

  test('different keys are held at the same time', async () => {
    const bothInside = deferred();
    let inside = 0;
    const hold = (key: string) =>
      withLock(key, options(), async () => {
        inside += 1;
        if (inside === 2) bothInside.release();
        await bothInside.promise;
      });
    await Promise.all([hold('vm-b'), hold('vm-c')]);
    expect(inside).toBe(2);
  });

  test('a holder killed with SIGKILL leaves no stale lock', async () => {
    const lockFile = join(directory, 'vm-d.lock');
    // A stand-in for an agent process holding the lock exactly as withLock does: its open
    // descriptor, locked by a flock child that has exited.
    const script = `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(lockFile)},'a');const c=require('child_process').spawn('flock',['--exclusive','3'],{stdio:['ignore','ignore','ignore',fd]});c.on('close',()=>console.log('held'));setInterval(()=>{},1000);`;
    const agent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((resolve) => agent.stdout.once('data', resolve));
    expect((await execa('flock', ['--nonblock', lockFile, 'true'], { reject: false })).exitCode).toBe(1);
    agent.kill('SIGKILL');
    await expect(withLock('vm-d', options(), async () => 'acquired')).resolves.toBe('acquired');
  });

  test('a lock that cannot be had before the deadline is a CONFLICT, and the holder is untouched', async () => {
    const holding = deferred();
    const letGo = deferred();
    const holder = withLock('vm-e', options(), async () => {
      holding.release();
      await letGo.promise;
    });
    await holding.promise;
    await expect(withLock('vm-e', { directory, deadline: Date.now() + 1500 }, async () => 'never')).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    letGo.release();
    await holder;
  });

  test('lock names cannot escape the lock directory', async () => {
    await expect(withLock('vm-../../etc/x', options(), async () => 'never')).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  test('the after-taken hook (recovery) is the one of the request that takes the lock, and none outside a request', async () => {
    // In `hvagent serve` requests with different configurations run side by side: each must
    // recover with its own, never with whichever request set a hook last.
    const seen: string[] = [];
    const scopeOf = (name: string) => {
      const scope = new RequestScope();
      scope.afterLockTaken = async (key) => void seen.push(`${name}:${key}`);
      return scope;
    };
    const first = scopeOf('first');
    const second = scopeOf('second');
    await runInScope(first, () => withLock('vm-hook-a', options(), async () => undefined));
    await runInScope(second, () => withLock('vm-hook-b', options(), async () => undefined));
    await runInScope(first, () => withLock('vm-hook-c', options(), async () => undefined));
    await withLock('vm-hook-d', options(), async () => undefined);
    await runInScope(first, () => withLock('intent-hook-e', options(), async () => undefined));
    expect(seen).toEqual(['first:vm-hook-a', 'second:vm-hook-b', 'first:vm-hook-c']);
  });
});
