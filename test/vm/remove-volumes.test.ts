// vm delete remove_volumes=true against the real libvirtd and real pools: the metadata's
// pool/name list is trusted only where it names the domain's own disks. A name that is not
// one of its disks is kept (and said so), and so is everything when the pool's
// configuration changed after provisioning; nothing is left silently.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { stdioRpc } from '../helpers/agent.js';
import { StorageSandbox } from '../storage/helpers.js';
import { cleanup, guestSpec, newVmName, QEMU_URI } from './helpers.js';

const box = new StorageSandbox({ disks: { plugin: 'qcow2' }, moved: { plugin: 'qcow2' } });
afterAll(async () => {
  await cleanup();
  await box.cleanup();
});

const NS = 'https://hvagent.dev/xmlns/domain/1';
const call = (action: string, data: Record<string, unknown>, env = box.env) => stdioRpc({ agent: 'vm', action, data }, env);

async function provision(): Promise<{ name: string; disk: string }> {
  const name = newVmName();
  const made = await call('create', guestSpec(name, { disk_size_mb: 16, pool: box.pool('disks') }));
  expect(made).toMatchObject({ statuscode: 0 });
  return { name, disk: box.volumePath('disks', `${name}-root`) };
}

test("a volume the metadata names that is not one of the domain's disks is kept and reported; its own disk is removed", async () => {
  const { name, disk } = await provision();
  const stranger = await box.volume('create', { pool: box.pool('disks'), name: 'stranger', size_mb: 8 });
  expect(stranger.statuscode).toBe(0);
  // As if the metadata had been edited (or written by a tool that got it wrong).
  const metadata = (await execa('virsh', ['-c', QEMU_URI, 'metadata', name, NS])).stdout;
  const edited = metadata.replace(/<volumes>([^<]*)<\/volumes>/, `<volumes>$1,${box.pool('disks')}/stranger</volumes>`);
  expect(edited).toContain('/stranger');
  await execa('virsh', ['-c', QEMU_URI, 'metadata', name, NS, '--key', 'hv', '--set', edited, '--config']);

  const deleted = await call('delete', { name, remove_volumes: true });
  expect(deleted).toMatchObject({ statuscode: 0, data: { changed: true, removed_volumes: [`${box.pool('disks')}/${name}-root`] } });
  expect(deleted.data.kept_volumes).toEqual([expect.stringMatching(new RegExp(`^${box.pool('disks')}/stranger: .*not a disk of this VM`))]);
  expect(existsSync(disk)).toBe(false);
  expect(existsSync(box.volumePath('disks', 'stranger'))).toBe(true);
});

test('a pool whose path changed after provisioning: the volume now at the new path is not removed, and the reply says what was left', async () => {
  const { name, disk } = await provision();
  // The operator points the pool elsewhere; a volume of the same name lives there.
  const moved = box.volumePath('moved', `${name}-root`);
  expect((await box.volume('create', { pool: box.pool('moved'), name: `${name}-root`, size_mb: 8 })).statuscode).toBe(0);
  const config = parse(readFileSync(box.configFile, 'utf8')) as { storage: { pools: Record<string, { path: string }> } };
  config.storage.pools[box.pool('disks')]!.path = box.poolPath('moved');
  const changedConfig = `${box.root}/changed.yaml`;
  writeFileSync(changedConfig, stringify(config));

  const deleted = await call('delete', { name, remove_volumes: true }, { HVAGENT_CONFIG: changedConfig });
  expect(deleted).toMatchObject({ statuscode: 0, data: { changed: true, removed_volumes: [] } });
  expect(deleted.data.kept_volumes).toEqual([expect.stringContaining(`${box.pool('disks')}/${name}-root: ${moved} is not a disk of this VM`)]);
  expect(existsSync(moved)).toBe(true);
  expect(existsSync(disk)).toBe(true);
});

test('a pool no longer configured: the VM goes, its volume stays and is named in kept_volumes', async () => {
  const { name, disk } = await provision();
  const config = parse(readFileSync(box.configFile, 'utf8')) as { storage: { pools: Record<string, unknown> } };
  delete config.storage.pools[box.pool('disks')];
  const changedConfig = `${box.root}/without.yaml`;
  writeFileSync(changedConfig, stringify(config));
  const deleted = await call('delete', { name, remove_volumes: true }, { HVAGENT_CONFIG: changedConfig });
  expect(deleted).toMatchObject({ statuscode: 0, data: { changed: true, removed_volumes: [] } });
  expect(deleted.data.kept_volumes).toEqual([expect.stringContaining(`${box.pool('disks')}/${name}-root: pool '${box.pool('disks')}' is no longer configured`)]);
  expect(existsSync(disk)).toBe(true);
});
