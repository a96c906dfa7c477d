// An installer ISO, end to end on a TCG guest: `template import` of the ISO that
// `scripts/test-templates.sh iso` builds, `vm create template=iso:… disk_size_mb=…` boots it
// from a read-only SCSI CD-ROM (SeaBIOS, q35) onto an empty root volume; the installer
// writes a system onto the virtio disk (INSTALLER: DONE on ttyS0); `vm modify
// eject_cdrom=true` empties the drive live; after a power cycle the VM boots what the
// installer wrote (INSTALLED SYSTEM: BOOTED FROM DISK). The ISO is attached where it lies in
// the catalogue, so `template delete` refuses while a drive holds it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stdioRpc, type Reply } from '../helpers/agent.js';
import { cleanup, domstate, newVmName, requireGuestAssets, virsh, waitForSerial, waitForState, QEMU_URI } from '../vm/helpers.js';
import { importSandbox, installerIso, type ImportSandbox } from './import-helpers.js';

const INSTALLED = 'INSTALLER: DONE';
const BOOTED_FROM_DISK = 'INSTALLED SYSTEM: BOOTED FROM DISK';
const BOOT_MS = 240_000;

let box: ImportSandbox;
let isoFile: string;

beforeAll(async () => {
  requireGuestAssets();
  const iso = await installerIso();
  box = importSandbox({}, [join(iso, '..')]);
  const imported = await agent('template', 'import', { ref: 'iso:installer', source: iso });
  expect(imported).toMatchObject({ statuscode: 0, data: { template_type: 'iso' } });
  isoFile = imported.data.file as string;
});

afterAll(async () => {
  await cleanup();
  await box?.remove();
});

const agent = (name: string, action: string, data: Record<string, unknown>): Promise<Reply> => stdioRpc({ agent: name, action, data }, box.env);

/** The CD-ROM drives of a definition: target and medium (null when empty). */
async function cdroms(name: string, inactive: boolean): Promise<Array<{ target: string; source: string | null }>> {
  const xml = await virsh(QEMU_URI, ['dumpxml', ...(inactive ? ['--inactive'] : []), name]);
  return [...xml.matchAll(/<disk type='file' device='cdrom'>([\s\S]*?)<\/disk>/g)].map(([, body]) => ({
    target: /<target dev='([^']+)'/.exec(body!)![1]!,
    source: /<source file='([^']+)'/.exec(body!)?.[1] ?? null,
  }));
}

test('iso:NAME needs disk_size_mb, and a refused request makes nothing', async () => {
  const name = newVmName();
  const reply = await agent('vm', 'create', { name, vm_class: 'qemu', template: 'iso:installer', pool: box.poolName });
  expect(reply).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_REQUIRED' } });
  expect(reply.statusmsg).toBe("Input 'disk_size_mb': iso:installer installs onto an empty root volume: give its size");
  expect(await domstate(name)).toBe('absent');
  expect(readdirSync(box.pool)).toEqual([]);
});

test('the installer boots from the CD-ROM onto the empty disk; ejected, the VM boots what it installed', async () => {
  const name = newVmName();
  const created = await agent('vm', 'create', { name, vm_class: 'qemu', template: 'iso:installer', pool: box.poolName, disk_size_mb: 16, memory_mb: 256, start: true });
  expect(created).toMatchObject({ statuscode: 0, data: { state: 'running', template: 'iso:installer' } });
  const root = (created.data.volumes as Array<{ path: string }>)[0]!.path;
  const disk = JSON.parse((await execa('qemu-img', ['info', '--output=json', '-U', root])).stdout) as { 'virtual-size': number; 'backing-filename'?: string };
  expect(disk['virtual-size']).toBe(16 * 1024 * 1024);
  expect(disk['backing-filename']).toBeUndefined();
  // The ISO in place (never copied), read-only, first in the boot order.
  expect(await cdroms(name, true)).toEqual([{ target: 'sda', source: isoFile }]);
  const xml = await virsh(QEMU_URI, ['dumpxml', '--inactive', name]);
  expect(xml).toMatch(/<boot dev='cdrom'\/>\s*<boot dev='hd'\/>/);
  expect(xml).toMatch(/<disk type='file' device='cdrom'>[\s\S]*?<readonly\/>[\s\S]*?<\/disk>/);

  const inUse = await agent('template', 'delete', { ref: 'iso:installer' });
  expect(inUse).toMatchObject({ statuscode: 1, data: { error_code: 'TEMPLATE_IN_USE' } });
  expect(inUse.statusmsg).toContain(`VMs ${name}`);

  await waitForSerial(name, INSTALLED, 1, BOOT_MS);
  const ejected = await agent('vm', 'modify', { name, eject_cdrom: true });
  expect(ejected).toMatchObject({ statuscode: 0, data: { changed: true, state: 'running', applied: { eject_cdrom: 'live' } } });
  expect(await cdroms(name, false)).toEqual([{ target: 'sda', source: null }]);
  expect(await cdroms(name, true)).toEqual([{ target: 'sda', source: null }]);
  expect((await agent('vm', 'modify', { name, eject_cdrom: true })).data).toMatchObject({ changed: false, applied: {} });

  expect((await agent('vm', 'shutdown', { name, timeout: 90 })).data).toMatchObject({ state: 'shutoff' });
  expect((await agent('vm', 'start', { name })).statuscode).toBe(0);
  await waitForSerial(name, BOOTED_FROM_DISK, 1, BOOT_MS);
  expect(await domstate(name)).toBe('running');
});

test('eject on a shut-off VM empties the drive in its definition; with no drive holding it, the ISO can be deleted', async () => {
  const name = newVmName();
  const created = await agent('vm', 'create', { name, vm_class: 'qemu', template: 'installer', pool: box.poolName, disk_size_mb: 8 });
  // A bare name for qemu is image:installer, which does not exist: iso must be written.
  expect(created).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
  expect((await agent('vm', 'create', { name, vm_class: 'qemu', template: 'iso:installer', pool: box.poolName, disk_size_mb: 8 })).data).toMatchObject({ state: 'shutoff' });
  const ejected = await agent('vm', 'modify', { name, eject_cdrom: true });
  expect(ejected.data).toMatchObject({ changed: true, applied: { eject_cdrom: 'next_boot' } });
  expect(await cdroms(name, true)).toEqual([{ target: 'sda', source: null }]);
  await waitForState(name, 'shut off');

  // The VM of the previous test ejected its medium too: nothing holds the ISO now.
  const deleted = await agent('template', 'delete', { ref: 'iso:installer' });
  expect(deleted).toMatchObject({ statuscode: 0, data: { changed: true, removed_files: [isoFile] } });
  expect(existsSync(isoFile)).toBe(false);
});
