// A volume a defined VM uses is not deleted by accident: refused while a VM is defined
// with it (unless force=true), and refused even with force while a VM runs with it.
// The VMs are real libvirt domains made through the vm agent.
import { existsSync } from 'node:fs';
import { cleanup, createGuest, domstate, newVmName, requireGuestAssets, vm, waitForState } from '../vm/helpers.js';
import { StorageSandbox } from './helpers.js';

const box = new StorageSandbox({ qcow: { plugin: 'qcow2' } });
beforeAll(requireGuestAssets);
afterAll(async () => {
  await cleanup();
  await box.cleanup();
});

test('delete: CONFLICT while a defined VM uses the volume, allowed with force; list and info name the VM', async () => {
  const pool = box.pool('qcow');
  const guest = newVmName();
  const name = `${guest}-root`;
  const path = box.volumePath('qcow', name);
  expect((await box.volume('create', { pool, name, size_mb: 32 })).statuscode).toBe(0);
  await createGuest(guest, { disk: path, disk_format: 'qcow2' });
  expect(await domstate(guest)).toBe('shut off');

  expect(await box.volume('info', { pool, name })).toMatchObject({ statuscode: 0, data: { used_by: [guest] } });
  const listed = await box.volume('list', { pool });
  expect(listed.data.volumes).toEqual([expect.objectContaining({ name, used_by: [guest] })]);

  const refused = await box.volume('delete', { pool, name });
  expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
  expect(refused.statusmsg).toContain(guest);
  expect(refused.statusmsg).toContain('force=true');
  expect(existsSync(path)).toBe(true);

  expect(await box.volume('delete', { pool, name, force: true })).toMatchObject({ statuscode: 0, data: { changed: true, used_by: [guest] } });
  expect(existsSync(path)).toBe(false);
});

test('delete: refused even with force while a running VM has the volume attached', async () => {
  const pool = box.pool('qcow');
  const guest = newVmName();
  const name = `${guest}-data1`;
  const path = box.volumePath('qcow', name);
  expect((await box.volume('create', { pool, name, size_mb: 16 })).statuscode).toBe(0);
  await createGuest(guest, { disk: path, disk_format: 'qcow2', start: true });
  await waitForState(guest, 'running');

  const refused = await box.volume('delete', { pool, name, force: true });
  expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
  expect(refused.statusmsg).toContain('not shut off');
  expect(existsSync(path)).toBe(true);
  // Resizing an image QEMU holds open is refused by qemu-img's lock, reported as a CONFLICT.
  expect(await box.volume('resize', { pool, name, size_mb: 32 })).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });

  expect((await vm('poweroff', { name: guest })).statuscode).toBe(0);
  expect(await box.volume('delete', { pool, name, force: true })).toMatchObject({ statuscode: 0, data: { changed: true } });
  expect(existsSync(path)).toBe(false);
});
