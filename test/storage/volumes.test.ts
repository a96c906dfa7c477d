// The volume agent with real qemu-img, real files and the real libvirtd: every reply is
// checked against the images themselves (qemu-img info), the pool directories and virsh.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { MIB, qemuImgInfo, StorageSandbox } from './helpers.js';

const box = new StorageSandbox({
  raw: { plugin: 'raw' },
  qcow: { plugin: 'qcow2' },
  dir: { plugin: 'dir' },
  small: { plugin: 'qcow2', max_volume_mb: 100, max_total_mb: 150 },
});
afterAll(() => box.cleanup());

/** A qcow2 template with known content in its first MiB. */
const base = join(box.images, 'base.qcow2');
beforeAll(async () => {
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', base, '48M']);
  await execa('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 1M', base]);
});

describe('raw and qcow2 volumes', () => {
  test('an empty raw volume is a sparse file of the size asked, listed and visible to libvirt', async () => {
    const reply = await box.volume('create', { pool: box.pool('raw'), name: 'vm1-data1', size_mb: 256 });
    const path = box.volumePath('raw', 'vm1-data1');
    expect(reply).toMatchObject({
      statuscode: 0,
      data: { pool: box.pool('raw'), name: 'vm1-data1', plugin: 'raw', path, format: 'raw', capacity_mb: 256, backing: null, used_by: [], changed: true },
    });
    const info = await qemuImgInfo(path, 'raw');
    expect(info['virtual-size']).toBe(256 * MIB);
    expect(statSync(path).blocks * 512).toBeLessThan(MIB);

    const listed = await box.volume('list', { pool: box.pool('raw') });
    expect(listed).toMatchObject({ statuscode: 0, data: { count: 1, volumes: [{ name: 'vm1-data1', capacity_mb: 256, format: 'raw' }] } });
    const volList = await execa('virsh', ['-c', 'qemu:///system', 'vol-list', `hvagent-${box.pool('raw')}`]);
    expect(volList.stdout).toContain(path);
  });

  test('a volume that exists, identical or not, is a CONFLICT and is left as it was', async () => {
    const first = await box.volume('create', { pool: box.pool('qcow'), name: 'twice', size_mb: 64 });
    expect(first.statuscode).toBe(0);
    const again = await box.volume('create', { pool: box.pool('qcow'), name: 'twice', size_mb: 64 });
    expect(again).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(again.statusmsg).toContain('already exists');
    expect((await qemuImgInfo(box.volumePath('qcow', 'twice'), 'qcow2'))['virtual-size']).toBe(64 * MIB);
  });

  test('a thin qcow2 clone has the template as its backing file, reads its content and takes almost no space', async () => {
    const reply = await box.volume('create', { pool: box.pool('qcow'), name: 'vm2-root', backing: base });
    expect(reply).toMatchObject({ statuscode: 0, data: { format: 'qcow2', capacity_mb: 48, backing: base, changed: true } });
    const path = box.volumePath('qcow', 'vm2-root');
    const info = await qemuImgInfo(path, 'qcow2');
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 48 * MIB, 'backing-filename': base, 'backing-filename-format': 'qcow2' });
    expect(info['actual-size']).toBeLessThan(MIB);
    expect((await execa('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', base, path], { reject: false })).exitCode).toBe(0);
  });

  test('a clone asked larger than its template grows; smaller is refused', async () => {
    const grown = await box.volume('create', { pool: box.pool('qcow'), name: 'vm3-root', backing: base, size_mb: 96 });
    expect(grown).toMatchObject({ statuscode: 0, data: { capacity_mb: 96, backing: base } });
    expect((await qemuImgInfo(box.volumePath('qcow', 'vm3-root'), 'qcow2'))['virtual-size']).toBe(96 * MIB);
    const smaller = await box.volume('create', { pool: box.pool('qcow'), name: 'vm4-root', backing: base, size_mb: 16 });
    expect(smaller).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(existsSync(box.volumePath('qcow', 'vm4-root'))).toBe(false);
  });

  test('a full copy (source) into a raw pool has the same content and no backing file', async () => {
    const reply = await box.volume('create', { pool: box.pool('raw'), name: 'copy', source: base, image_format: 'qcow2', size_mb: 64 });
    expect(reply).toMatchObject({ statuscode: 0, data: { format: 'raw', capacity_mb: 64, backing: null } });
    const path = box.volumePath('raw', 'copy');
    expect((await qemuImgInfo(path, 'raw'))['virtual-size']).toBe(64 * MIB);
    const head = await execa('qemu-io', ['-f', 'raw', '-c', 'read -P 0x5a 0 1M', path], { reject: false });
    expect(head.stdout).not.toContain('Pattern verification failed');
    expect(head.exitCode).toBe(0);
  });

  test('a backing file for a raw pool is UNSUPPORTED; a source outside the image directories is refused', async () => {
    const backing = await box.volume('create', { pool: box.pool('raw'), name: 'x1', backing: base });
    expect(backing).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    const outside = await box.volume('create', { pool: box.pool('raw'), name: 'x2', source: '/etc/passwd', image_format: 'raw' });
    expect(outside).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
    const missingSize = await box.volume('create', { pool: box.pool('raw'), name: 'x3' });
    expect(missingSize).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_REQUIRED' } });
    expect(box.entries('raw')).toEqual(['copy', 'vm1-data1']);
  });

  test('qcow2: grow, shrink refused without shrink=true, shrink with it', async () => {
    const name = 'resized';
    const path = box.volumePath('qcow', name);
    expect((await box.volume('create', { pool: box.pool('qcow'), name, size_mb: 64 })).statuscode).toBe(0);
    expect(await box.volume('resize', { pool: box.pool('qcow'), name, size_mb: 128 })).toMatchObject({ statuscode: 0, data: { capacity_mb: 128, changed: true } });
    expect((await qemuImgInfo(path, 'qcow2'))['virtual-size']).toBe(128 * MIB);
    expect(await box.volume('resize', { pool: box.pool('qcow'), name, size_mb: 128 })).toMatchObject({ statuscode: 0, data: { changed: false } });
    const refused = await box.volume('resize', { pool: box.pool('qcow'), name, size_mb: 32 });
    expect(refused).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(refused.statusmsg).toContain('shrink=true');
    expect((await qemuImgInfo(path, 'qcow2'))['virtual-size']).toBe(128 * MIB);
    expect(await box.volume('resize', { pool: box.pool('qcow'), name, size_mb: 32, shrink: true })).toMatchObject({ statuscode: 0, data: { capacity_mb: 32 } });
    expect((await qemuImgInfo(path, 'qcow2'))['virtual-size']).toBe(32 * MIB);
  });

  test('raw: shrinking below the written data is refused even with shrink=true; above it, it works', async () => {
    const name = 'written';
    const path = box.volumePath('raw', name);
    expect((await box.volume('create', { pool: box.pool('raw'), name, size_mb: 64 })).statuscode).toBe(0);
    await execa('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 0 20M', path]);
    const refused = await box.volume('resize', { pool: box.pool('raw'), name, size_mb: 8, shrink: true });
    expect(refused).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(refused.statusmsg).toContain('allocated');
    expect(statSync(path).size).toBe(64 * MIB);
    expect(await box.volume('resize', { pool: box.pool('raw'), name, size_mb: 32, shrink: true })).toMatchObject({ statuscode: 0, data: { capacity_mb: 32 } });
    expect(statSync(path).size).toBe(32 * MIB);
  });

  test('delete removes the file (changed), then has nothing to do (unchanged); libvirt forgets it', async () => {
    const path = box.volumePath('raw', 'vm1-data1');
    expect(await box.volume('delete', { pool: box.pool('raw'), name: 'vm1-data1' })).toMatchObject({ statuscode: 0, data: { changed: true, used_by: [] } });
    expect(existsSync(path)).toBe(false);
    expect(await box.volume('delete', { pool: box.pool('raw'), name: 'vm1-data1' })).toMatchObject({ statuscode: 0, data: { changed: false } });
    const volList = await execa('virsh', ['-c', 'qemu:///system', 'vol-list', `hvagent-${box.pool('raw')}`]);
    expect(volList.stdout).not.toContain(path);
  });
});

describe('pool limits', () => {
  test('a volume over max_volume_mb, a pool over max_total_mb and a resize past it are QUOTA_EXCEEDED, and nothing is made', async () => {
    const pool = box.pool('small');
    const tooBig = await box.volume('create', { pool, name: 'big', size_mb: 101 });
    expect(tooBig).toMatchObject({ statuscode: 1, data: { error_code: 'QUOTA_EXCEEDED' } });
    expect(tooBig.statusmsg).toContain('max_volume_mb 100');
    expect((await box.volume('create', { pool, name: 'a', size_mb: 100 })).statuscode).toBe(0);
    const overTotal = await box.volume('create', { pool, name: 'b', size_mb: 60 });
    expect(overTotal).toMatchObject({ statuscode: 1, data: { error_code: 'QUOTA_EXCEEDED' } });
    expect(overTotal.statusmsg).toContain('max_total_mb of 150');
    expect((await box.volume('create', { pool, name: 'c', size_mb: 50 })).statuscode).toBe(0);
    expect(await box.volume('resize', { pool, name: 'c', size_mb: 51 })).toMatchObject({ statuscode: 1, data: { error_code: 'QUOTA_EXCEEDED' } });
    const clone = await box.volume('create', { pool, name: 'd', backing: base });
    expect(clone).toMatchObject({ statuscode: 1, data: { error_code: 'QUOTA_EXCEEDED' } });
    expect(box.entries('small')).toEqual(['a', 'c']);
  });
});

describe('dir volumes (container roots)', () => {
  test('created, listed with what their files take, not resizable, deleted with their contents', async () => {
    const pool = box.pool('dir');
    const path = box.volumePath('dir', 'ct1-root');
    expect(await box.volume('create', { pool, name: 'ct1-root' })).toMatchObject({
      statuscode: 0,
      data: { plugin: 'dir', path, format: null, capacity_mb: 0, changed: true },
    });
    expect(statSync(path).isDirectory()).toBe(true);
    writeFileSync(join(path, 'payload'), Buffer.alloc(3 * MIB, 1));
    const info = await box.volume('info', { pool, name: 'ct1-root' });
    expect(info.data.allocation_mb).toBeGreaterThanOrEqual(3);
    expect(await box.volume('create', { pool, name: 'ct2-root', size_mb: 10 })).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    expect(await box.volume('resize', { pool, name: 'ct1-root', size_mb: 10 })).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    expect(await box.volume('delete', { pool, name: 'ct1-root' })).toMatchObject({ statuscode: 0, data: { changed: true } });
    expect(existsSync(path)).toBe(false);
  });

  test('an unknown pool is NOT_FOUND and names the configured pools; bad names never reach the pool', async () => {
    const unknown = await box.volume('list', { pool: 'nosuchpool' });
    expect(unknown).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
    expect(unknown.statusmsg).toContain(box.pool('qcow'));
    for (const name of ['../x', '/etc/passwd', 'a..b', '.hidden']) {
      expect((await box.volume('create', { pool: box.pool('dir'), name })).statuscode).toBe(4);
    }
    expect(box.entries('dir')).toEqual([]);
  });
});
