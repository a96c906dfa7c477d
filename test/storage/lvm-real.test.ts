// LVM with real device-mapper: a loop-backed volume group, the plugin creating, resizing
// and removing a logical volume. Runs only where `dmsetup version` works and the LVM
// tools are installed; elsewhere it says why and is skipped (the argument vectors are
// covered in test/unit/storage/lvm-commands.test.ts either way).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { HvConfig } from '../../src/config/schema.js';
import { openPool } from '../../src/storage/index.js';
import { stdioRpc } from '../helpers/agent.js';

async function lvmUnavailable(): Promise<string | undefined> {
  const dm = await execa('dmsetup', ['version'], { reject: false });
  if (dm.exitCode !== 0) return `device-mapper does not work here (dmsetup version: ${String(dm.stderr).split('\n')[0] ?? dm.exitCode})`;
  const tools = await execa('lvm', ['version'], { reject: false });
  if (tools.exitCode !== 0) return 'the LVM tools are not installed (lvm2)';
  return undefined;
}

const reason = await lvmUnavailable();
if (reason) console.warn(`test/storage/lvm-real: skipped: ${reason}`);
const maybe = reason ? test.skip : test;

maybe('a loop-backed volume group: create, resize, activate, delete a logical volume', async () => {
  const token = randomBytes(4).toString('hex');
  const file = `/var/lib/hvagent/t-${token}.pv`;
  const vg = `t-${token}`;
  await execa('truncate', ['-s', '256M', file]);
  const loop = (await execa('losetup', ['--find', '--show', file])).stdout.trim();
  try {
    await execa('vgcreate', ['--yes', vg, loop]);
    const config = { storage: { pools: { fast: { plugin: 'lvm', volume_group: vg } } }, paths: { lock_dir: `/run/hvagent/t-${token}` } } as unknown as HvConfig;
    const pool = openPool(config, 'fast');
    const volume = await pool.create({ name: 'vm1-root', sizeMb: 64 }, {});
    expect(volume.path).toBe(`/dev/${vg}/vm1-root`);
    expect(existsSync(volume.path)).toBe(true);
    expect((await pool.resize('vm1-root', 128, { shrink: false }, {})).capacity_mb).toBe(128);
    await pool.deactivate('vm1-root', {});
    await pool.activate('vm1-root', {});
    expect(await pool.delete('vm1-root', {})).toBe(true);
    expect(await pool.list({})).toEqual([]);
  } finally {
    await execa('vgremove', ['--yes', '--force', vg], { reject: false });
    await execa('losetup', ['--detach', loop], { reject: false });
    rmSync(file, { force: true });
  }
});

maybe('a pool through the API on a real volume group: create, a volume refuses delete, delete', async () => {
  const token = randomBytes(4).toString('hex');
  const file = `/var/lib/hvagent/hres-${token}.pv`;
  const vg = `hres-${token}`;
  const root = `/var/lib/hvagent/hres-${token}`;
  await execa('truncate', ['-s', '256M', file]);
  const loop = (await execa('losetup', ['--find', '--show', file])).stdout.trim();
  try {
    await execa('vgcreate', ['--yes', vg, loop]);
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'hvagent.yaml'), `paths:\n  lock_dir: ${root}/locks\n`);
    const env = { HVAGENT_CONFIG: join(root, 'hvagent.yaml') };
    const rpc = (agent: string, action: string, data: Record<string, unknown>) => stdioRpc({ agent, action, data }, env);
    expect(await rpc('pool', 'create', { name: 'fastlv', plugin: 'lvm', volume_group: vg })).toMatchObject({ statuscode: 0, data: { changed: true, libvirt_pool: null } });
    expect(await rpc('volume', 'create', { pool: 'fastlv', name: 'v1', size_mb: 16 })).toMatchObject({ statuscode: 0 });
    expect(existsSync(`/dev/${vg}/v1`)).toBe(true);
    expect(await rpc('pool', 'delete', { name: 'fastlv' })).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(await rpc('volume', 'delete', { pool: 'fastlv', name: 'v1' })).toMatchObject({ statuscode: 0 });
    expect(await rpc('pool', 'delete', { name: 'fastlv' })).toMatchObject({ statuscode: 0, data: { changed: true } });
    // The volume group is the operator's: it stays.
    expect((await execa('vgs', ['--noheadings', '-o', 'vg_name', vg])).stdout.trim()).toBe(vg);
  } finally {
    await execa('vgremove', ['--yes', '--force', vg], { reject: false });
    await execa('losetup', ['--detach', loop], { reject: false });
    rmSync(file, { force: true });
    rmSync(root, { recursive: true, force: true });
  }
});
