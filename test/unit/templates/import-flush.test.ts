import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepFlushing } from '../../../src/templates/import/flush.js';

// An import's file is flushed while it is written (flush.ts). With the clock stopped, the
// loop parks in its pause after its first flush and never wakes by itself: finish() must
// wake it, flush once more after the last write, and report a flush that failed.

const root = mkdtempSync(join(tmpdir(), 'import-speed-flush-'));
let handle: FileHandle;
const calls: string[] = [];

beforeEach(async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  calls.length = 0;
  handle = await open(join(root, `part-${Date.now()}-${Math.random()}`), 'w+');
  const datasync = handle.datasync.bind(handle);
  handle.datasync = () => {
    calls.push('datasync');
    return datasync();
  };
});

afterEach(async () => {
  jest.useRealTimers();
  await handle.close().catch(() => undefined);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Until the loop has flushed once and waits in its pause (the only timer). */
async function parked(): Promise<void> {
  while (jest.getTimerCount() === 0) await new Promise((resolve) => setImmediate(resolve));
  expect(calls).toEqual(['datasync']);
}

test('finish() wakes the waiting loop and flushes once more, after the last write', async () => {
  const flushing = keepFlushing(handle);
  await parked();
  await handle.write(Buffer.from('the last bytes of the image'), 0, undefined, 0);
  calls.push('write');
  await flushing.finish();
  expect(calls.lastIndexOf('datasync')).toBeGreaterThan(calls.indexOf('write'));
  // finish() is the same flush however often it is asked for.
  const flushes = calls.length;
  await flushing.finish();
  expect(calls).toHaveLength(flushes);
}, 30_000); // a loop that finish() cannot wake never ends: this bound fails it

test('a flush that fails fails finish(): the file is not known to be on disk', async () => {
  handle.datasync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
  await expect(keepFlushing(handle).finish()).rejects.toMatchObject({ code: 'EIO' });
});

test('stop() ends the loop without another flush (the file is being removed)', async () => {
  const flushing = keepFlushing(handle);
  await parked();
  const flushes = calls.length;
  await flushing.stop();
  expect(calls).toHaveLength(flushes);
}, 30_000);
