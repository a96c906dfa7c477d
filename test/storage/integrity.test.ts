// Containment of images and pools against hostile files, with real qemu-img and the
// built agent: a qcow2 inside the image directories whose backing file or external data
// file lies outside them is refused by name; a pool directory swapped for a symlink while
// creates run puts nothing outside the pool, and no create that said it failed leaves a
// volume behind.
import { lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { exchangeLoop } from '../helpers/exchange.js';
import { replyOf } from '../vm/helpers.js';
import { StorageSandbox } from './helpers.js';

const box = new StorageSandbox({ qcow: { plugin: 'qcow2' }, raw: { plugin: 'raw' }, race: { plugin: 'qcow2' }, racedir: { plugin: 'dir' } });
/** Outside paths.images (/var/lib/hvagent, /var/lib/libvirt/images): what a hostile image points at. */
const outside = `/var/tmp/integrity-${box.token}`;
afterAll(async () => {
  rmSync(outside, { recursive: true, force: true });
  await box.cleanup();
});

const secret = join(outside, 'secret.raw');
beforeAll(async () => {
  mkdirSync(outside, { recursive: true });
  await execa('qemu-img', ['create', '-q', '-f', 'raw', secret, '16M']);
});

async function qcow2(path: string, options: string[] = []): Promise<string> {
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', ...options, path, '16M']);
  return path;
}

describe('images given by path keep their whole chain inside the image directories', () => {
  test('a backing file outside, direct or two links down, absolute or relative: refused by input name, nothing made', async () => {
    const direct = await qcow2(join(box.images, 'direct.qcow2'), ['-b', secret, '-F', 'raw']);
    const middle = await qcow2(join(box.images, 'middle.qcow2'), ['-b', secret, '-F', 'raw']);
    const deep = await qcow2(join(box.images, 'deep.qcow2'), ['-b', middle, '-F', 'qcow2']);
    const relative = await qcow2(join(box.images, 'relative.qcow2'), ['-b', `../../../../..${secret}`, '-F', 'raw']);
    const cases = [
      { pool: 'qcow', input: 'backing', image: direct },
      { pool: 'qcow', input: 'backing', image: deep },
      { pool: 'qcow', input: 'backing', image: relative },
      { pool: 'raw', input: 'source', image: direct },
      { pool: 'raw', input: 'source', image: deep },
    ];
    for (const [index, { pool, input, image }] of cases.entries()) {
      const reply = await box.volume('create', { pool: box.pool(pool), name: `refused${index}`, [input]: image, image_format: 'qcow2' });
      expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
      expect(reply.statusmsg).toContain(`Input '${input}'`);
      expect(reply.statusmsg).toContain(secret);
    }
    expect(box.entries('qcow')).toEqual([]);
    expect(box.entries('raw')).toEqual([]);
  });

  test('a protocol backing name (json:, nbd:) is refused; a FIFO in the chain is refused without being opened', async () => {
    const json = await qcow2(join(box.images, 'json.qcow2'), ['-u', '-b', `json:{"driver":"file","filename":"${secret}"}`, '-F', 'raw']);
    const nbd = await qcow2(join(box.images, 'nbd.qcow2'), ['-u', '-b', 'nbd://127.0.0.1:10809/export', '-F', 'raw']);
    for (const [index, image] of [json, nbd].entries()) {
      const reply = await box.volume('create', { pool: box.pool('qcow'), name: `protocol${index}`, backing: image });
      expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
      expect(reply.statusmsg).toContain("Input 'backing'");
    }
    const fifo = join(box.images, 'fifo');
    await execa('mkfifo', [fifo]);
    const overFifo = await qcow2(join(box.images, 'over-fifo.qcow2'), ['-u', '-b', fifo, '-F', 'raw']);
    const reply = await box.volume('create', { pool: box.pool('qcow'), name: 'over-fifo', backing: overFifo });
    expect(reply).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(reply.statusmsg).toContain('not a regular file');
    expect(box.entries('qcow')).toEqual([]);
  });

  test('an external data file outside is refused; the same chain kept inside is accepted', async () => {
    const withData = await qcow2(join(box.images, 'data.qcow2'), ['-o', `data_file=${join(outside, 'data.raw')}`]);
    const refused = await box.volume('create', { pool: box.pool('qcow'), name: 'refused-data', backing: withData });
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
    expect(refused.statusmsg).toContain('external data file');
    expect(refused.statusmsg).toContain(join(outside, 'data.raw'));

    const base = join(box.images, 'base.raw');
    await execa('qemu-img', ['create', '-q', '-f', 'raw', base, '16M']);
    const layer = await qcow2(join(box.images, 'layer.qcow2'), ['-b', 'base.raw', '-F', 'raw']);
    const ownData = await qcow2(join(box.images, 'own-data.qcow2'), ['-o', `data_file=${join(box.images, 'own-data.raw')}`]);
    expect(await box.volume('create', { pool: box.pool('qcow'), name: 'clone', backing: layer })).toMatchObject({ statuscode: 0, data: { backing: layer } });
    expect(await box.volume('create', { pool: box.pool('raw'), name: 'copy', source: ownData, image_format: 'qcow2' })).toMatchObject({ statuscode: 0 });
    expect(box.entries('qcow')).toEqual(['clone']);
  });
});

describe('a pool directory swapped for a symlink while creates run', () => {
  const ROUNDS = 150;
  const PARALLEL = 6;

  /** Swaps the pool directory with a symlink to `target` and back until stopped. */
  function swapper(pool: string, target: string) {
    const link = `${pool}.link`;
    symlinkSync(target, link);
    const loop = exchangeLoop(pool, link, 0.0002);
    return {
      stop: async () => {
        const swaps = await loop.stop();
        unlinkSync(link);
        return swaps;
      },
    };
  }

  for (const [key, rounds] of [['race', ROUNDS], ['racedir', 48]] as const) {
    test(`${rounds} creates, ${key === 'race' ? 'qcow2' : 'dir'} pool: nothing lands outside, every failed create left no volume, every success is in the pool`, async () => {
      const target = join(outside, `swapped-${key}`);
      mkdirSync(target, { recursive: true });
      const pool = box.pool(key);
      expect((await box.volume('create', { pool, name: 'first', ...(key === 'race' && { size_mb: 1 }) })).statuscode).toBe(0);
      const swap = swapper(box.poolPath(key), target);
      const outcomes: Array<{ name: string; ok: boolean; code: unknown; message: string }> = [];
      try {
        // At least `rounds` creates; more while none has gone through yet (how many win
        // the race against the swap depends on the machine's load), up to five times that.
        const enough = (start: number) => start >= rounds && (outcomes.some((outcome) => outcome.ok) || start >= rounds * 5);
        for (let start = 0; !enough(start); start += PARALLEL) {
          const names = Array.from({ length: PARALLEL }, (_, i) => `v${start + i}`);
          const ran = await Promise.all(names.map((name) => box.spawnVolume('create', { pool, name, ...(key === 'race' && { size_mb: 1 }) })));
          ran.map(replyOf).forEach((reply, i) => outcomes.push({ name: names[i]!, ok: reply.statuscode === 0, code: reply.data.error_code, message: reply.statusmsg }));
        }
      } finally {
        expect(await swap.stop()).toBeGreaterThan(0);
      }
      expect(lstatSync(box.poolPath(key)).isDirectory()).toBe(true);
      expect(readdirSync(target)).toEqual([]);
      const inPool = new Set(box.entries(key));
      expect([...inPool].filter((entry) => entry.includes('.part'))).toEqual([]);
      const failed = outcomes.filter((outcome) => !outcome.ok);
      expect(failed.filter((outcome) => inPool.has(outcome.name))).toEqual([]);
      expect(outcomes.filter((outcome) => outcome.ok && !inPool.has(outcome.name))).toEqual([]);
      // The swap really happened under the creates: some were refused, some went through.
      expect(failed.length).toBeGreaterThan(0);
      // Refused in words (the pool's path is a symlink, or was moved), never an internal error.
      expect(failed.filter((outcome) => outcome.code !== 'CONFLICT' && outcome.code !== 'CONFIG_INVALID')).toEqual([]);
      expect(outcomes.length - failed.length).toBeGreaterThan(0);
      console.log(`${key}: ${outcomes.length} creates under a swapping pool directory: ${outcomes.length - failed.length} made in the pool, ${failed.length} refused, 0 outside`);
    });
  }
});
