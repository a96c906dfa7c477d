import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPool } from '../../../src/storage/index.js';
import { configWith, refusal } from './helpers.js';

// Nothing a request names can reach outside its pool: names are validated, symlinks in a
// pool are never followed, and a pool directory that is a symlink is refused.

const base = mkdtempSync(join(tmpdir(), 'hv-pools-'));
const outside = join(base, 'outside');
mkdirSync(outside);
writeFileSync(join(outside, 'secret'), 'not yours');
mkdirSync(join(outside, 'tree'));
writeFileSync(join(outside, 'tree', 'keep'), 'keep me');

const config = configWith({
  files: { plugin: 'raw', path: join(base, 'files') },
  images: { plugin: 'qcow2', path: join(base, 'images') },
  roots: { plugin: 'dir', path: join(base, 'roots') },
  linked: { plugin: 'dir', path: join(base, 'linked') },
});
mkdirSync(join(base, 'files'));
mkdirSync(join(base, 'roots'));
symlinkSync(join(outside, 'secret'), join(base, 'files', 'escape'));
symlinkSync(join(outside, 'tree'), join(base, 'roots', 'escape'));
symlinkSync(outside, join(base, 'linked'));

const ctx = {};

describe('volume names and paths stay inside their pool', () => {
  test.each(['../outside/secret', '/etc/passwd', 'a\0b', '..', 'a/b'])('%j is refused by every operation before anything is touched', async (name) => {
    const pool = openPool(config, 'roots');
    for (const operation of [
      () => pool.create({ name }, ctx),
      () => pool.delete(name, ctx),
      () => pool.info(name, ctx),
      () => pool.resize(name, 1, { shrink: false }, ctx),
      () => pool.pathOf(name),
    ]) {
      expect((await refusal(operation)).code).toBe('INPUT_INVALID');
    }
    expect(existsSync(join(outside, 'secret'))).toBe(true);
  });

  test('a volume that is a symlink out of a file pool is neither read, resized, replaced nor deleted', async () => {
    const pool = openPool(config, 'files');
    for (const operation of [
      () => pool.info('escape', ctx),
      () => pool.delete('escape', ctx),
      () => pool.resize('escape', 1, { shrink: true }, ctx),
      () => pool.create({ name: 'escape', sizeMb: 1 }, ctx),
    ]) {
      const error = await refusal(operation);
      expect(error.code).toBe('NOT_AUTHORIZED');
      expect(error.message).toContain('symlink');
    }
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('not yours');
    expect(lstatSync(join(base, 'files', 'escape')).isSymbolicLink()).toBe(true);
    // and a listing does not show it
    expect((await pool.list(ctx)).map((volume) => volume.name)).not.toContain('escape');
  });

  test('a directory volume that is a symlink is not deleted through, and the tree it points to survives', async () => {
    const pool = openPool(config, 'roots');
    expect((await refusal(() => pool.delete('escape', ctx))).code).toBe('NOT_AUTHORIZED');
    expect((await refusal(() => pool.create({ name: 'escape' }, ctx))).code).toBe('NOT_AUTHORIZED');
    expect(readFileSync(join(outside, 'tree', 'keep'), 'utf8')).toBe('keep me');
  });

  test('a pool directory that is itself a symlink is refused (CONFIG_INVALID), even for a listing', async () => {
    const pool = openPool(config, 'linked');
    for (const operation of [() => pool.list(ctx), () => pool.create({ name: 'x' }, ctx), () => pool.info('secret', ctx), () => pool.delete('secret', ctx)]) {
      const error = await refusal(operation);
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.message).toContain('is a symlink');
    }
    expect(existsSync(join(outside, 'x'))).toBe(false);
    expect(existsSync(join(outside, 'secret'))).toBe(true);
  });

  test('dir volumes: made inside the pool, listed, deleted with their contents (links inside removed, not followed)', async () => {
    const pool = openPool(config, 'roots');
    const made = await pool.create({ name: 'ct1-root' }, ctx);
    expect(made).toMatchObject({ pool: 'roots', name: 'ct1-root', plugin: 'dir', path: join(base, 'roots', 'ct1-root'), attach: 'directory', format: null, capacity_mb: 0 });
    writeFileSync(join(made.path, 'file'), 'x'.repeat(10_000));
    symlinkSync(join(outside, 'tree'), join(made.path, 'link-out'));
    const info = await pool.info('ct1-root', ctx);
    expect(info).toMatchObject({ capacity_mb: 0, backing: null });
    expect(info!.allocation_mb).toBeGreaterThanOrEqual(1);
    expect((await pool.list(ctx)).map((volume) => volume.name)).toEqual(['ct1-root']);
    expect((await refusal(() => pool.create({ name: 'ct1-root' }, ctx))).code).toBe('CONFLICT');
    expect(await pool.delete('ct1-root', ctx)).toBe(true);
    expect(await pool.delete('ct1-root', ctx)).toBe(false);
    expect(existsSync(made.path)).toBe(false);
    expect(readFileSync(join(outside, 'tree', 'keep'), 'utf8')).toBe('keep me');
  });

  test('what a plugin cannot do is UNSUPPORTED; an unknown pool is NOT_FOUND naming the configured ones', async () => {
    const roots = openPool(config, 'roots');
    expect((await refusal(() => roots.create({ name: 'x', sizeMb: 10 }, ctx))).code).toBe('UNSUPPORTED');
    expect((await refusal(() => roots.create({ name: 'x', source: { path: '/x', format: 'raw' } }, ctx))).code).toBe('UNSUPPORTED');
    expect((await refusal(() => roots.resize('x', 10, { shrink: false }, ctx))).code).toBe('UNSUPPORTED');
    const files = openPool(config, 'files');
    expect((await refusal(() => files.create({ name: 'x', backing: { path: '/x', format: 'qcow2' } }, ctx))).code).toBe('UNSUPPORTED');
    expect((await refusal(() => files.create({ name: 'x' }, ctx))).code).toBe('INPUT_REQUIRED');
    const unknown = await refusal(() => openPool(config, 'nope'));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toContain('files, images, linked, roots');
    expect((await refusal(() => openPool(config, 'toString'))).code).toBe('NOT_FOUND');
    expect(existsSync(join(base, 'roots', 'x'))).toBe(false);
  });

  test('a pool directory that does not exist yet lists nothing and has no volumes', async () => {
    const pool = openPool(config, 'images');
    expect(await pool.list(ctx)).toEqual([]);
    expect(await pool.info('a', ctx)).toBeUndefined();
    expect(await pool.delete('a', ctx)).toBe(false);
  });
});
