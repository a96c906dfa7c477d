// One-request provisioning against real parts: a TCG guest boots (SeaBIOS → syslinux →
// kernel) from a qcow2 thin clone of an image template, and from a full raw copy of it;
// an LXC container runs from a tarball template with its overlay and first-boot file;
// a PXE template gives a network-first boot. `vm delete remove_volumes=true` removes the
// VM's volumes and only those.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadConfig } from '../../src/config/load.js';
import type { HvConfig } from '../../src/config/schema.js';
import { findTemplate } from '../../src/templates/catalogue.js';
import { definePxeNetwork } from '../../src/templates/pxe-network.js';
import type { PxeTemplate } from '../../src/templates/types.js';
import { cleanup, domstate, LXC_URI, newVmName, QEMU_URI, READY, virsh, waitFor, waitForSerial } from '../vm/helpers.js';
import { buildTestTemplates, makeSandbox, type Sandbox } from './helpers.js';

let box: Sandbox;
let sandboxConfig: HvConfig;
const loadSandboxConfig = () => sandboxConfig;

beforeAll(async () => {
  await buildTestTemplates();
  box = makeSandbox();
  sandboxConfig = await loadConfig({ HVAGENT_CONFIG: box.config });
});

afterAll(async () => {
  await cleanup();
  await box?.remove();
});

async function qemuImgInfo(path: string): Promise<Record<string, unknown>> {
  return JSON.parse((await execa('qemu-img', ['info', '--output=json', '-U', path])).stdout) as Record<string, unknown>;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function templatePath(ref: string): Promise<string> {
  const info = await box.rpc('template', 'info', { ref });
  expect(info.statuscode).toBe(0);
  return String((info.data.files as { path: string }).path);
}

describe('a QEMU guest from an image template', () => {
  test('on a qcow2 pool: a thin clone with the template as backing file, booted, then deleted with its volume', async () => {
    const name = newVmName();
    const base = await templatePath('image:tiny');
    const before = sha256(base);

    const created = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', network: 'default', memory_mb: 192, start: true });
    expect(created).toMatchObject({ statuscode: 0, data: { name, changed: true, state: 'running', template: 'image:tiny' } });
    const root = join(box.pools.vms, `${name}-root`);
    const volumes = created.data.volumes as Array<Record<string, unknown>>;
    expect(volumes).toEqual([expect.objectContaining({ pool: 'vms', name: `${name}-root`, plugin: 'qcow2', format: 'qcow2' })]);
    const volumePath = String(volumes[0]!.path);
    expect(volumePath.startsWith(`${root}`)).toBe(true);

    const image = await qemuImgInfo(volumePath);
    expect(image).toMatchObject({ format: 'qcow2', 'backing-filename': base });

    // The guest really boots from that disk: SeaBIOS → syslinux on the template → our initrd.
    await waitForSerial(name);
    const xml = await virsh(QEMU_URI, ['dumpxml', '--inactive', name]);
    expect(xml).toContain(`<source file='${volumePath}'/>`);
    expect(xml).not.toContain('<kernel>');
    const mac = (created.data.nics as Array<{ mac: string }>)[0]!.mac;
    expect(xml).toContain(`<mac address='${mac}'/>`);

    const info = await box.rpc('vm', 'info', { name });
    expect(info.data.metadata).toMatchObject({ template: 'image:tiny', volumes: `vms/${name}-root` });

    const deleted = await box.rpc('vm', 'delete', { name, force: true, remove_volumes: true });
    expect(deleted).toMatchObject({ statuscode: 0, data: { changed: true, state: 'absent', removed_volumes: [`vms/${name}-root`] } });
    expect(await domstate(name)).toBe('absent');
    expect(existsSync(volumePath)).toBe(false);
    expect(sha256(base)).toBe(before); // the template never changes
    expect(box.leftovers()).toEqual([]);
  });

  test('on a raw pool with a data disk: a full copy and an empty volume, attached as vda and vdb', async () => {
    const name = newVmName();
    const created = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'flat', data_disks: 'vms:32', memory_mb: 192, start: true });
    expect(created).toMatchObject({ statuscode: 0, data: { state: 'running' } });
    const [root, data] = created.data.volumes as Array<{ path: string; plugin: string }>;
    expect(root).toMatchObject({ plugin: 'raw', format: 'raw' });
    expect(data).toMatchObject({ plugin: 'qcow2', name: `${name}-data1` });
    expect(await qemuImgInfo(root!.path)).toMatchObject({ format: 'raw' });
    expect((await qemuImgInfo(root!.path))['backing-filename']).toBeUndefined();
    expect(await qemuImgInfo(data!.path)).toMatchObject({ format: 'qcow2', 'virtual-size': 32 * 1024 * 1024 });
    await waitForSerial(name);

    const blk = await virsh(QEMU_URI, ['domblklist', name]);
    expect(blk).toMatch(new RegExp(`vda\\s+${root!.path}`));
    expect(blk).toMatch(new RegExp(`vdb\\s+${data!.path}`));

    const deleted = await box.rpc('vm', 'delete', { name, force: true, remove_volumes: true });
    expect(deleted.data.removed_volumes).toEqual([`flat/${name}-root`, `vms/${name}-data1`]);
    expect(box.leftovers()).toEqual([]);
  });

  test('a disk smaller than the template is refused and nothing is made', async () => {
    const name = newVmName();
    const refused = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', disk_size_mb: 1 });
    expect(refused).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(await domstate(name)).toBe('absent');
    expect(box.leftovers()).toEqual([]);
  });
});

describe('an LXC container from a tarball template', () => {
  test('extracted with its overlay onto a dir volume, told its name and MAC at first boot, running', async () => {
    const name = newVmName();
    const created = await box.rpc('vm', 'create', { name, vm_class: 'lxc', template: 'lxc:busybox', pool: 'ct', network: 'default', memory_mb: 128, start: true });
    expect(created).toMatchObject({ statuscode: 0, data: { name, state: 'running', vm_class: 'lxc', template: 'lxc:busybox' } });
    const rootfs = String((created.data.volumes as Array<{ path: string }>)[0]!.path);
    expect(rootfs.startsWith(box.pools.ct)).toBe(true);
    await waitFor(() => existsSync(join(rootfs, 'run', 'ready')), 'the container init to touch /run/ready');
    expect(await domstate(name, LXC_URI)).toBe('running');

    const mac = (created.data.nics as Array<{ mac: string }>)[0]!.mac;
    const firstBoot = readFileSync(join(rootfs, 'etc', 'hvagent', 'firstboot.conf'), 'utf8');
    expect(firstBoot).toContain(name);
    expect(firstBoot).toContain(mac);
    expect(existsSync(join(rootfs, 'sbin', 'init'))).toBe(true);

    const deleted = await box.rpc('vm', 'delete', { name, force: true, remove_volumes: true });
    expect(deleted).toMatchObject({ statuscode: 0, data: { removed_volumes: [`ct/${name}-root`] } });
    expect(existsSync(rootfs)).toBe(false);
    expect(box.leftovers()).toEqual([]);
  });

  test('a template type the class does not take is refused before anything is made', async () => {
    const name = newVmName();
    const lxcFromImage = await box.rpc('vm', 'create', { name, vm_class: 'lxc', template: 'image:tiny' });
    expect(lxcFromImage).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    const qemuFromTar = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'lxc:busybox' });
    expect(qemuFromTar).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    const qemuOnDirPool = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'ct' });
    expect(qemuOnDirPool).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    expect(await domstate(name)).toBe('absent');
    expect(box.leftovers()).toEqual([]);
  });
});

describe('a PXE template', () => {
  let definedNetwork: string | undefined;
  afterAll(async () => {
    if (!definedNetwork) return;
    await execa('virsh', ['-c', QEMU_URI, 'net-destroy', definedNetwork], { reject: false });
    await execa('virsh', ['-c', QEMU_URI, 'net-undefine', definedNetwork], { reject: false });
  });

  test('without its network the request is refused and nothing is made', async () => {
    const template = (await findTemplate(loadSandboxConfig(), 'pxe:tiny')) as PxeTemplate;
    const name = newVmName();
    // Only this file uses the template's own network: one still defined is a leftover of a
    // run that was killed, and goes, so that this test always has a network to miss.
    await execa('virsh', ['-c', QEMU_URI, 'net-destroy', template.network], { reject: false });
    await execa('virsh', ['-c', QEMU_URI, 'net-undefine', template.network], { reject: false });
    expect((await execa('virsh', ['-c', QEMU_URI, 'net-info', template.network], { reject: false })).exitCode).not.toBe(0);
    const refused = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'pxe:tiny' });
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
    expect(await domstate(name)).toBe('absent');
  });

  test('boots over the network first, from the network that serves the template, to GUEST: READY', async () => {
    const template = (await findTemplate(loadSandboxConfig(), 'pxe:tiny')) as PxeTemplate;
    const defined = await definePxeNetwork(loadSandboxConfig(), template, {});
    if (defined.changed) definedNetwork = defined.name;
    const name = newVmName();
    const created = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'pxe:tiny', memory_mb: 256, start: true });
    expect(created).toMatchObject({ statuscode: 0, data: { state: 'running', template: 'pxe:tiny', volumes: [] } });
    const xml = await virsh(QEMU_URI, ['dumpxml', '--inactive', name]);
    expect(xml.indexOf("<boot dev='network'/>")).toBeGreaterThan(-1);
    expect(xml.indexOf("<boot dev='network'/>")).toBeLessThan(xml.indexOf("<boot dev='hd'/>"));
    expect(xml).toContain(`<source network='${template.network}'/>`);
    expect(xml).not.toContain('<disk');
    // PXELINUX, then the kernel and initramfs over TFTP: slow under TCG.
    await waitForSerial(name, READY, 1, 240_000);
  });
});
