// image:tiny is a real bootable disk: a qcow2 overlay on it, defined and started through
// the vm agent, boots SYSLINUX → the test kernel → GUEST: READY on the serial console.
import { join } from 'node:path';
import { execa } from 'execa';
import { cleanup, domstate, newVmName, requireGuestAssets, scratchPath, virsh, vm, waitForSerial, QEMU_URI } from '../vm/helpers.js';
import { testCatalogue } from './helpers.js';

let catalogue: string;
beforeAll(async () => {
  requireGuestAssets();
  catalogue = await testCatalogue();
});
afterAll(cleanup);

test('image:tiny boots from its disk to GUEST: READY', async () => {
  const overlay = scratchPath('tiny-overlay.qcow2');
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(catalogue, 'images', 'tiny.qcow2'), '-F', 'qcow2', overlay]);
  const name = newVmName();
  const reply = await vm('create', { name, vm_class: 'qemu', disk: overlay, disk_format: 'qcow2', memory_mb: 192, start: true });
  expect(reply).toMatchObject({ statuscode: 0, data: { name, changed: true, state: 'running' } });
  const xml = await virsh(QEMU_URI, ['dumpxml', name]);
  expect(xml).not.toContain('<kernel>');
  expect(xml).toContain(overlay);
  await waitForSerial(name);
  expect(await domstate(name)).toBe('running');
});
