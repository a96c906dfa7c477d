import type { Reply } from '../../../src/core/reply.js';
import { ReadCache } from '../../../src/dispatch/read-cache.js';

/** A read whose every computation is counted and ends when the test says so. */
function source() {
  let computed = 0;
  const pending: Array<(reply: Reply) => void> = [];
  return {
    get computed() {
      return computed;
    },
    compute: () => {
      computed += 1;
      const answer = computed;
      return new Promise<Reply>((resolve) => pending.push(() => resolve({ statuscode: 0, statusmsg: 'OK', data: { answer } })));
    },
    finishAll: async () => {
      while (pending.length) pending.shift()!({ statuscode: 0, statusmsg: 'OK', data: {} });
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const answerOf = async (reply: Promise<Reply>) => (await reply).data.answer;

describe('warm reads', () => {
  test('concurrent reads share one computation, and the reply is served again until a change', async () => {
    const cache = new ReadCache({ ttlMs: () => 60_000 });
    const read = source();
    const first = cache.read('vm', 'list', { state: 'any' }, read.compute);
    const second = cache.read('vm', 'list', { state: 'any' }, read.compute);
    await read.finishAll();
    expect([await answerOf(first), await answerOf(second), read.computed]).toEqual([1, 1, 1]);
    expect(await answerOf(cache.read('vm', 'list', { state: 'any' }, read.compute))).toBe(1);
    expect(read.computed).toBe(1);
    cache.read('vm', 'list', { state: 'running' }, read.compute);
    expect(read.computed).toBe(2);
  });

  test('an outside change: replies read lately are recomputed in the background, once however many changes; served as they were meanwhile', async () => {
    const cache = new ReadCache({ ttlMs: () => 60_000, minRefreshMs: 0 });
    const read = source();
    const first = cache.read('vm', 'list', {}, read.compute);
    await read.finishAll();
    await first;
    cache.refresh();
    cache.refresh();
    cache.refresh();
    expect(await answerOf(cache.read('vm', 'list', {}, read.compute))).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(read.computed).toBe(2);
    expect(await answerOf(cache.read('vm', 'list', {}, read.compute))).toBe(1);
    await read.finishAll();
    expect(await answerOf(cache.read('vm', 'list', {}, read.compute))).toBe(2);
    expect(read.computed).toBe(2);
  });

  test('a change of our own drops every reply at once; a reply computed across it is not kept', async () => {
    const cache = new ReadCache({ ttlMs: () => 60_000 });
    const read = source();
    const before = cache.read('vm', 'list', {}, read.compute);
    cache.invalidate();
    await read.finishAll();
    await before;
    const after = cache.read('vm', 'list', {}, read.compute);
    expect(read.computed).toBe(2);
    await read.finishAll();
    await after;
    cache.invalidate();
    cache.read('vm', 'list', {}, read.compute);
    expect(read.computed).toBe(3);
  });

  test('a failure is never served again; ttl 0 only shares in-flight reads; undefined never shares', async () => {
    const failing = new ReadCache({ ttlMs: () => 60_000 });
    const bad = () => Promise.resolve<Reply>({ statuscode: 1, statusmsg: 'no', data: {} });
    await failing.read('vm', 'info', { name: 'a' }, bad);
    let calls = 0;
    await failing.read('vm', 'info', { name: 'a' }, () => ((calls += 1), bad()));
    expect(calls).toBe(1);
    const shared = new ReadCache({ ttlMs: () => 0 });
    const read = source();
    const one = shared.read('vm', 'list', {}, read.compute);
    const two = shared.read('vm', 'list', {}, read.compute);
    await read.finishAll();
    await Promise.all([one, two]);
    shared.read('vm', 'list', {}, read.compute);
    expect(read.computed).toBe(2);
    const never = new ReadCache({ ttlMs: () => undefined });
    const other = source();
    never.read('host', 'usage', {}, other.compute);
    never.read('host', 'usage', {}, other.compute);
    expect(other.computed).toBe(2);
  });
});
