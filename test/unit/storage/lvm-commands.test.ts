import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProgressUpdate } from '../../../src/core/progress.js';
import { readPoolDropins } from '../../../src/config/pool-dropins.js';
import { createPool, deletePool, openPool } from '../../../src/storage/index.js';
import { configWith, refusal } from './helpers.js';

// The real LVM plugin code, run against stand-ins for lvcreate, lvremove, lvresize,
// lvchange, lvs and qemu-img placed first on PATH (the tools run with a clean
// environment, so each stand-in is told its directory in its own script): the exact argument vectors, and how
// the tools' answers and failures are read.

const FAKE = fileURLToPath(new URL('./fixtures/fake-lvm.cjs', import.meta.url));
const TOOLS = ['lvcreate', 'lvremove', 'lvresize', 'lvchange', 'lvs', 'vgs', 'qemu-img'];
const dir = mkdtempSync(join(tmpdir(), 'hv-fake-lvm-'));
const savedPath = process.env.PATH;
for (const tool of TOOLS) {
  const script = join(dir, tool);
  writeFileSync(script, `#!/bin/sh\nFAKE_LVM_DIR='${dir}' exec "${process.execPath}" "${FAKE}" ${tool} "$@"\n`);
  chmodSync(script, 0o755);
}

const config = configWith({
  fast: { plugin: 'lvm', volume_group: 'vg0', max_volume_mb: 4096, max_total_mb: 6144 },
  other: { plugin: 'lvm', volume_group: 'missing' },
});
const pool = () => openPool(config, 'fast');

function calls(): string[][] {
  return readFileSync(join(dir, 'calls.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as string[]);
}

beforeAll(() => {
  process.env.PATH = `${dir}:${savedPath}`;
});
beforeEach(() => {
  writeFileSync(join(dir, 'calls.jsonl'), '');
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ vg: 'vg0', lvs: {} }));
  rmSync(join(dir, 'qemu-img-fails'), { force: true });
});
afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

describe('LVM pool: the commands it runs', () => {
  test('create: lvs to see it is new, then lvcreate --yes --wipesignatures y with the size in MiB; a block device under /dev/<vg>', async () => {
    const volume = await pool().create({ name: 'vm1-root', sizeMb: 1024 }, {});
    expect(volume).toEqual({ pool: 'fast', name: 'vm1-root', plugin: 'lvm', path: '/dev/vg0/vm1-root', attach: 'block', format: 'raw' });
    expect(calls()).toEqual([
      ['lvs', '--reportformat', 'json', '--units', 'm', '--nosuffix', '-o', 'lv_name,lv_size', 'vg0/vm1-root'],
      ['lvs', '--reportformat', 'json', '--units', 'm', '--nosuffix', '-o', 'lv_name,lv_size', 'vg0'],
      ['lvcreate', '--yes', '--wipesignatures', 'y', '--name', 'vm1-root', '--size', '1024m', 'vg0'],
    ]);
  });

  test('info and list read lvs JSON; internal volumes are left out', async () => {
    await pool().create({ name: 'a', sizeMb: 64 }, {});
    await pool().create({ name: 'b', sizeMb: 128 }, {});
    expect(await pool().info('a', {})).toEqual({
      pool: 'fast', name: 'a', plugin: 'lvm', path: '/dev/vg0/a', attach: 'block', format: 'raw', capacity_mb: 64, allocation_mb: 64, backing: null,
    });
    expect((await pool().list({})).map((volume) => [volume.name, volume.capacity_mb])).toEqual([['a', 64], ['b', 128]]);
    expect(await pool().info('nope', {})).toBeUndefined();
  });

  test('resize: lvresize --yes --size <n>m vg/lv; shrinking only when asked', async () => {
    await pool().create({ name: 'data', sizeMb: 256 }, {});
    expect((await pool().resize('data', 512, { shrink: false }, {})).capacity_mb).toBe(512);
    expect((await refusal(() => pool().resize('data', 128, { shrink: false }, {}))).code).toBe('INPUT_INVALID');
    expect((await pool().resize('data', 128, { shrink: true }, {})).capacity_mb).toBe(128);
    expect(calls().filter(([command]) => command === 'lvresize')).toEqual([
      ['lvresize', '--yes', '--size', '512m', 'vg0/data'],
      ['lvresize', '--yes', '--size', '128m', 'vg0/data'],
    ]);
  });

  test('delete: lvremove --yes vg/lv; false (and no lvremove) when it does not exist', async () => {
    await pool().create({ name: 'gone', sizeMb: 64 }, {});
    expect(await pool().delete('gone', {})).toBe(true);
    expect(await pool().delete('gone', {})).toBe(false);
    expect(calls().filter(([command]) => command === 'lvremove')).toEqual([['lvremove', '--yes', 'vg0/gone']]);
  });

  test('activate / deactivate: lvchange --activate y|n', async () => {
    await pool().create({ name: 'x', sizeMb: 64 }, {});
    await pool().deactivate('x', {});
    await pool().activate('x', {});
    expect(calls().filter(([command]) => command === 'lvchange')).toEqual([
      ['lvchange', '--yes', '--activate', 'n', 'vg0/x'],
      ['lvchange', '--yes', '--activate', 'y', 'vg0/x'],
    ]);
  });

  test('a copy of an image: lvcreate of its size, then qemu-img convert -p -n into the device, with progress', async () => {
    const image = join(dir, 'image.raw');
    writeFileSync(image, Buffer.alloc(3 * 1024 * 1024 + 1));
    const progress: ProgressUpdate[] = [];
    await pool().create({ name: 'copy', source: { path: image, format: 'raw' } }, { progress: (update) => progress.push(update) });
    expect(calls().slice(-2)).toEqual([
      ['lvcreate', '--yes', '--wipesignatures', 'y', '--name', 'copy', '--size', '4m', 'vg0'],
      ['qemu-img', 'convert', '-p', '-n', '-f', 'raw', '-O', 'raw', image, '/dev/vg0/copy'],
    ]);
    expect(progress.map((update) => update.percent)).toEqual([0, 50, 100]);
    expect(progress.every((update) => update.phase === 'copying')).toBe(true);
  });

  test('a failed copy removes the logical volume it made', async () => {
    const image = join(dir, 'image2.raw');
    writeFileSync(image, Buffer.alloc(1024 * 1024));
    writeFileSync(join(dir, 'qemu-img-fails'), '');
    const error = await refusal(() => pool().create({ name: 'half', sizeMb: 64, source: { path: image, format: 'raw' } }, {}));
    expect(error.code).toBe('COMMAND_FAILED');
    expect(calls().at(-1)).toEqual(['lvremove', '--yes', 'vg0/half']);
    expect(await pool().info('half', {})).toBeUndefined();
  });

  test('refusals: exists (CONFLICT), limits (QUOTA_EXCEEDED, nothing run), VG full, reserved names, backing (UNSUPPORTED), unknown VG', async () => {
    await pool().create({ name: 'one', sizeMb: 4096 }, {});
    expect((await refusal(() => pool().create({ name: 'one', sizeMb: 64 }, {}))).code).toBe('CONFLICT');
    writeFileSync(join(dir, 'calls.jsonl'), '');
    expect((await refusal(() => pool().create({ name: 'big', sizeMb: 4097 }, {}))).code).toBe('QUOTA_EXCEEDED');
    expect(calls()).toEqual([]);
    const total = await refusal(() => pool().create({ name: 'two', sizeMb: 4000 }, {}));
    expect(total.code).toBe('QUOTA_EXCEEDED');
    expect(total.message).toContain('max_total_mb of 6144');
    expect(calls().some(([command]) => command === 'lvcreate')).toBe(false);

    writeFileSync(join(dir, 'state.json'), JSON.stringify({ vg: 'vg0', lvs: {}, free: 100 }));
    const full = await refusal(() => pool().create({ name: 'three', sizeMb: 200 }, {}));
    expect(full.code).toBe('QUOTA_EXCEEDED');
    expect(full.message).toContain('not enough free space');

    expect((await refusal(() => pool().create({ name: 'x_tmeta', sizeMb: 64 }, {}))).code).toBe('INPUT_INVALID');
    expect((await refusal(() => pool().create({ name: 'x', backing: { path: '/i', format: 'qcow2' } }, {}))).code).toBe('UNSUPPORTED');
    const missing = await refusal(() => openPool(config, 'other').list({}));
    expect(missing.code).toBe('COMMAND_FAILED');
    expect(missing.message).toContain('Volume group "missing" not found');
  });
});

describe('LVM pools through the API: what pool create and delete run', () => {
  const dropins = join(dir, 'pools.d');
  const ctx = () => ({ signal: new AbortController().signal, deadline: Date.now() + 30_000, progress: () => undefined });
  /** The configuration a new process would load: hvagent.yaml's pools and the drop-ins as they are now. */
  const apiConfig = async () => {
    const base = configWith({ fixed: { plugin: 'lvm', volume_group: 'vgfixed' } });
    return { ...base, storage: { pools: { ...base.storage.pools, ...(await readPoolDropins(dropins)) }, dropins: { directory: dropins, names: Object.keys(await readPoolDropins(dropins)) } } };
  };
  beforeEach(() => rmSync(dropins, { recursive: true, force: true }));

  test('create: one vgs of the group, then the drop-in; nothing made in the group', async () => {
    const made = await createPool(await apiConfig(), { name: 'fastlv', plugin: 'lvm', volumeGroup: 'vg0', maxVolumeMb: 2048 }, ctx());
    expect(made).toMatchObject({ changed: true, pool: { name: 'fastlv', plugin: 'lvm', volume_group: 'vg0', path: null, max_volume_mb: 2048, managed_by: 'api' }, libvirt: { libvirt_pool: null } });
    expect(calls()).toEqual([['vgs', '--noheadings', '-o', 'vg_name', 'vg0']]);
    expect(readFileSync(join(dropins, 'fastlv.yaml'), 'utf8')).toContain('volume_group: vg0');
    expect(await createPool(await apiConfig(), { name: 'fastlv', plugin: 'lvm', volumeGroup: 'vg0', maxVolumeMb: 2048 }, ctx())).toMatchObject({ changed: false });
  });

  test('refused before anything is written: an unknown group, a group another pool has, a path, a name of hvagent.yaml', async () => {
    const refused = async (request: Parameters<typeof createPool>[1]) => {
      const error = await refusal(() => apiConfig().then((config) => createPool(config, request, ctx())));
      expect(existsSync(join(dropins, `${request.name}.yaml`))).toBe(false);
      return [error.code, error.details?.input];
    };
    expect(await refused({ name: 'nolv', plugin: 'lvm', volumeGroup: 'missing' })).toEqual(['NOT_FOUND', 'volume_group']);
    expect(await refused({ name: 'twice', plugin: 'lvm', volumeGroup: 'vgfixed' })).toEqual(['CONFLICT', 'volume_group']);
    expect(await refused({ name: 'pathlv', plugin: 'lvm', volumeGroup: 'vg0', path: '/srv/x' })).toEqual(['INPUT_INVALID', 'path']);
    expect(await refused({ name: 'nogroup', plugin: 'lvm' })).toEqual(['INPUT_REQUIRED', 'volume_group']);
    expect(await refused({ name: 'fixed', plugin: 'lvm', volumeGroup: 'vg0' })).toEqual(['CONFLICT', undefined]);
  });

  test('delete: refused while lvs lists volumes (nothing removed), then the drop-in goes; never lvremove or vgremove', async () => {
    await createPool(await apiConfig(), { name: 'fastlv', plugin: 'lvm', volumeGroup: 'vg0' }, ctx());
    await openPool(await apiConfig(), 'fastlv').create({ name: 'keep', sizeMb: 64 }, {});
    const error = await refusal(async () => deletePool(await apiConfig(), 'fastlv', ctx()));
    expect([error.code, error.details?.volumes]).toEqual(['CONFLICT', ['keep']]);
    expect(existsSync(join(dropins, 'fastlv.yaml'))).toBe(true);
    await openPool(await apiConfig(), 'fastlv').delete('keep', {});
    writeFileSync(join(dir, 'calls.jsonl'), '');
    expect(await deletePool(await apiConfig(), 'fastlv', ctx())).toEqual({ changed: true, removedDirectory: false });
    expect(calls()).toEqual([['lvs', '--reportformat', 'json', '--units', 'm', '--nosuffix', '-o', 'lv_name,lv_size', 'vg0']]);
    expect(existsSync(join(dropins, 'fastlv.yaml'))).toBe(false);
    expect(await deletePool(await apiConfig(), 'fastlv', ctx())).toEqual({ changed: false, removedDirectory: false });
  });
});
