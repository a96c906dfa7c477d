// A failure half-way through provisioning removes everything that request made, in
// reverse order: proven by failing the request right after each step (the agent's
// HVAGENT_TEST_FAIL_AFTER hook), and by real failures (a clash with an existing volume,
// a concurrent create of the same VM). Afterwards: no domain, no volume, no file, no
// console log; and nothing the request did not make is touched.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, CONSOLE_DIR, domstate, LXC_URI, newVmName, QEMU_URI, virsh } from '../vm/helpers.js';
import { buildTestTemplates, makeSandbox, type Sandbox } from './helpers.js';

let box: Sandbox;

beforeAll(async () => {
  await buildTestTemplates();
  box = makeSandbox();
});

afterAll(async () => {
  await cleanup();
  await box?.remove();
});

const QEMU_STEPS = ['root-volume', 'data-volume', 'seed', 'console-log', 'define', 'autostart', 'start'] as const;
/** Makes a cloud-init seed (step 'seed'): a volume of the root's pool, or files in a container's root. */
const FIRST_BOOT = { hostname: 'rollback', user_data: '#cloud-config\nruncmd: [[true]]\n' };

describe.each(QEMU_STEPS)('a QEMU guest failing right after step %s', (step) => {
  test('leaves no domain, volume or console log', async () => {
    const name = newVmName();
    const reply = await box.rpc(
      'vm',
      'create',
      { name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', data_disks: 'flat:16', network: 'default', autostart: true, start: true, memory_mb: 192, ...FIRST_BOOT },
      { HVAGENT_TEST_FAIL_AFTER: step },
    );
    expect(reply).toMatchObject({ statuscode: 5, data: { error_code: 'INTERNAL' } });
    expect(reply.statusmsg).toContain(`after step '${step}'`);
    expect(reply.statusmsg).not.toContain('rollback could not remove');
    expect(await domstate(name, QEMU_URI)).toBe('absent');
    expect(box.leftovers()).toEqual([]);
    expect(existsSync(join(CONSOLE_DIR, `${name}.log`))).toBe(false);
  });
});

describe.each(['root-volume', 'populate', 'seed', 'define', 'start'] as const)('an LXC container failing right after step %s', (step) => {
  test('leaves no domain and no root directory', async () => {
    const name = newVmName();
    const reply = await box.rpc('vm', 'create', { name, vm_class: 'lxc', template: 'lxc:busybox', pool: 'ct', start: true, memory_mb: 128, ...FIRST_BOOT }, { HVAGENT_TEST_FAIL_AFTER: step });
    expect(reply).toMatchObject({ statuscode: 5 });
    expect(reply.statusmsg).toContain(`after step '${step}'`);
    expect(await domstate(name, LXC_URI)).toBe('absent');
    expect(box.leftovers()).toEqual([]);
  });
});

test('a root volume name that is taken fails the request and leaves that volume alone', async () => {
  const name = newVmName();
  const existing = await box.rpc('volume', 'create', { pool: 'vms', name: `${name}-root`, size_mb: 16 });
  expect(existing.statuscode).toBe(0);
  const reply = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', data_disks: 'flat:16' });
  expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
  expect(await domstate(name)).toBe('absent');
  expect(box.leftovers()).toEqual([`vms/${name}-root${volumeSuffix(existing)}`]);
  expect((await box.rpc('volume', 'delete', { pool: 'vms', name: `${name}-root` })).statuscode).toBe(0);
  expect(box.leftovers()).toEqual([]);
});

test('a seed volume name that is taken fails the request; the volumes made before it are removed, that one is left alone', async () => {
  const name = newVmName();
  expect((await box.rpc('volume', 'create', { pool: 'vms', name: `${name}-cidata`, size_mb: 1 })).statuscode).toBe(0);
  const reply = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', data_disks: 'flat:16', ...FIRST_BOOT });
  expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
  expect(reply.statusmsg).toContain(`${name}-cidata`);
  expect(await domstate(name)).toBe('absent');
  expect(box.leftovers()).toEqual([`vms/${name}-cidata`]);
  expect((await box.rpc('volume', 'delete', { pool: 'vms', name: `${name}-cidata` })).statuscode).toBe(0);
  expect(box.leftovers()).toEqual([]);
});

test('a QEMU guest named like an existing container is refused, and the volume made meanwhile is removed', async () => {
  const name = newVmName();
  const container = await box.rpc('vm', 'create', { name, vm_class: 'lxc', template: 'lxc:busybox', pool: 'ct', memory_mb: 128 });
  expect(container.statuscode).toBe(0);
  const reply = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms' });
  expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
  expect(reply.statusmsg).toContain('(lxc, shutoff)');
  expect(await domstate(name, QEMU_URI)).toBe('absent');
  expect(box.leftovers()).toEqual([`ct/${name}-root`]);
  expect((await box.rpc('vm', 'delete', { name, remove_volumes: true })).statuscode).toBe(0);
  expect(box.leftovers()).toEqual([]);
});

test('two concurrent creates of one VM: one provisions it, the other is refused and removes nothing of the winner', async () => {
  const name = newVmName();
  const request = { name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', memory_mb: 192 };
  const replies = await Promise.all([box.rpc('vm', 'create', request), box.rpc('vm', 'create', request)]);
  const codes = replies.map((reply) => reply.data.error_code ?? 'ok').sort();
  expect(codes).toEqual(['CONFLICT', 'ok']);
  const winner = replies.find((reply) => reply.statuscode === 0)!;
  const volume = String((winner.data.volumes as Array<{ path: string }>)[0]!.path);
  expect(existsSync(volume)).toBe(true);
  expect(await virsh(QEMU_URI, ['domblklist', name])).toContain(volume);

  expect((await box.rpc('vm', 'delete', { name, remove_volumes: true })).statuscode).toBe(0);
  expect(box.leftovers()).toEqual([]);
});

test('delete remove_volumes=true never removes a volume another VM uses', async () => {
  const owner = newVmName();
  const borrower = newVmName();
  const made = await box.rpc('vm', 'create', { name: owner, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', memory_mb: 192 });
  expect(made.statuscode).toBe(0);
  const volume = String((made.data.volumes as Array<{ path: string }>)[0]!.path);
  const borrowed = await box.rpc('vm', 'create', { name: borrower, vm_class: 'qemu', disk: volume, disk_format: 'qcow2', memory_mb: 192 });
  expect(borrowed.statuscode).toBe(0);

  const refused = await box.rpc('vm', 'delete', { name: owner, remove_volumes: true });
  expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
  expect(refused.statusmsg).toContain(borrower);
  expect(await domstate(owner)).toBe('shut off');
  expect(existsSync(volume)).toBe(true);

  // Deleting the borrower (which has no provisioned volumes) leaves the volume too.
  expect(await box.rpc('vm', 'delete', { name: borrower, remove_volumes: true })).toMatchObject({ statuscode: 0, data: { removed_volumes: [] } });
  expect(existsSync(volume)).toBe(true);
  expect(await box.rpc('vm', 'delete', { name: owner, remove_volumes: true })).toMatchObject({ statuscode: 0, data: { removed_volumes: [`vms/${owner}-root`] } });
  expect(existsSync(volume)).toBe(false);
  expect(box.leftovers()).toEqual([]);
});

describe('names cannot escape their pool or catalogue', () => {
  test.each([
    ['template', 'image:../tiny'],
    ['template', 'image:/etc/passwd'],
    ['template', 'image:tiny\u0000x'],
    ['pool', '../vms'],
    ['pool', '/var/lib/hvagent'],
    ['data_disks', 'vms:16,../flat:16'],
    ['network', 'default;reboot'],
  ])('%s=%j is refused by validation', async (input, value) => {
    const name = newVmName();
    const reply = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', [input]: value });
    expect(reply).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(await domstate(name)).toBe('absent');
    expect(box.leftovers()).toEqual([]);
  });

  test('an unknown pool or template is NOT_FOUND and names what exists', async () => {
    const name = newVmName();
    const pool = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'nosuch' });
    expect(pool).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
    expect(pool.statusmsg).toContain('vms');
    const template = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:nosuch', pool: 'vms' });
    expect(template).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
    expect(box.leftovers()).toEqual([]);
  });
});

/** The file name of a volume in its pool, as `volume create` reported it (the plugin may add an extension). */
function volumeSuffix(reply: { data: Record<string, unknown> }): string {
  const path = String(reply.data.path ?? '');
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.slice(base.indexOf('-root') + '-root'.length);
}
