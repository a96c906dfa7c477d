import { jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashBehindCopy } from '../../../src/templates/import/kernel-copy.js';

// With sha256=, a file copied by cp is hashed while cp writes it (kernel-copy.ts). Here the
// test is the writer, in steps, and the clock is stopped: the hash reaches the end of what
// is written and waits (its only timer); only the end of the copy ends it. The expected sum
// is Node's SHA-256 of the bytes the test wrote, zeros for a hole it left.

const root = mkdtempSync(join(tmpdir(), 'import-speed-hash-'));
let handle: FileHandle;

beforeEach(async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  handle = await open(join(root, `copy-${Date.now()}-${Math.random()}`), 'w+');
});

afterEach(async () => {
  jest.useRealTimers();
  await handle.close();
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Until the hash has read all there is and waits for more. */
async function caughtUp(): Promise<void> {
  while (jest.getTimerCount() === 0) await new Promise((resolve) => setImmediate(resolve));
}

test('the hash follows the copy to its end, holes included, and ends only when the copy has', async () => {
  const first = randomBytes(5 * 1024 * 1024 + 123); // not a whole number of the hash's reads
  const second = randomBytes(3 * 1024 * 1024);
  const hole = 1024 * 1024;
  const copy = { done: false };
  const hashing = hashBehindCopy(handle, copy, first.length + hole + second.length, { progress: () => undefined });

  await handle.write(first, 0, first.length, 0);
  await caughtUp();
  // cp skips a hole of the source and writes on after it: the size grows past the hole.
  await handle.write(second, 0, second.length, first.length + hole);
  jest.advanceTimersByTime(1000);
  await caughtUp();
  copy.done = true;
  jest.advanceTimersByTime(1000);

  const expected = createHash('sha256').update(first).update(Buffer.alloc(hole)).update(second).digest('hex');
  expect(await hashing).toBe(expected);
}, 30_000);

test('a file written whole before the hash starts is hashed whole', async () => {
  const bytes = randomBytes(9 * 1024 * 1024);
  await handle.write(bytes, 0, bytes.length, 0);
  expect(await hashBehindCopy(handle, { done: true }, bytes.length, { progress: () => undefined })).toBe(createHash('sha256').update(bytes).digest('hex'));
});

test('a copy given up (refused, failed) ends the hash without reading on', async () => {
  const copy = { done: false, abandoned: false };
  const hashing = hashBehindCopy(handle, copy, 0, { progress: () => undefined });
  await handle.write(randomBytes(1024 * 1024), 0, 1024 * 1024, 0);
  await caughtUp();
  copy.abandoned = true;
  jest.advanceTimersByTime(1000);
  await expect(hashing).resolves.toBe('');
}, 30_000);
