// A container through the vm agent, checked through virsh -c lxc:///system and its own
// root directory: its init touches /run/ready once it can take SIGTERM, and removes it
// when it gets one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, containerRootfs, domstate, LXC_URI, newVmName, virsh, vm, waitFor, xmlKib } from './helpers.js';

afterAll(cleanup);

describe('an LXC container from create to delete', () => {
  const name = newVmName();
  let rootfs = '';
  const ready = () => join(rootfs, 'run', 'ready');

  test('create with start=true runs its init', async () => {
    rootfs = await containerRootfs();
    const reply = await vm('create', { name, vm_class: 'lxc', rootfs, memory_mb: 128, start: true });
    expect(reply).toMatchObject({ statuscode: 0, data: { name, changed: true, state: 'running', vm_class: 'lxc' } });

    expect(await domstate(name, LXC_URI)).toBe('running');
    await waitFor(() => existsSync(ready()), `${ready()} to appear`);
  });

  test('info shows class lxc and the root directory; list finds it under driver lxc', async () => {
    const info = await vm('info', { name });
    expect(info).toMatchObject({
      statuscode: 0,
      data: { name, vm_class: 'lxc', state: 'running', memory_mb: 128, console_log: null, metadata: { vm_class: 'lxc' } },
    });
    expect(info.data.disks).toEqual([expect.objectContaining({ source: rootfs, target: '/', device: 'filesystem' })]);

    expect((await vm('list', { driver: 'lxc' })).data.vms).toContainEqual(expect.objectContaining({ name, driver: 'lxc', state: 'running' }));
    expect((await vm('list', { driver: 'qemu' })).data.vms).not.toContainEqual(expect.objectContaining({ name }));
  });

  test('suspend freezes and resume thaws it', async () => {
    expect(await vm('suspend', { name })).toMatchObject({ statuscode: 0, data: { changed: true, state: 'paused' } });
    expect(await domstate(name, LXC_URI)).toBe('paused');
    expect(await vm('resume', { name })).toMatchObject({ statuscode: 0, data: { changed: true, state: 'running' } });
    expect(await domstate(name, LXC_URI)).toBe('running');
  });

  test('memory changes live, in the running container and in its definition', async () => {
    const reply = await vm('modify', { name, memory_mb: 100 });
    expect(reply).toMatchObject({ statuscode: 0, data: { changed: true, applied: { memory_mb: 'live' } } });
    expect(xmlKib(await virsh(LXC_URI, ['dumpxml', name]), 'currentMemory')).toBe(100 * 1024);
    expect(xmlKib(await virsh(LXC_URI, ['dumpxml', '--inactive', name]), 'currentMemory')).toBe(100 * 1024);
    expect((await vm('info', { name })).data.memory_mb).toBe(100);
  });

  // list must report the assigned memory from the definition, not dominfo's "Max memory".
  test('list and info agree on the memory of a container after modify', async () => {
    const listed = (await vm('list', { driver: 'lxc' })).data.vms as Array<{ name: string; memory_mb: number }>;
    expect(listed.find((entry) => entry.name === name)?.memory_mb).toBe(100);
  });

  // The LXC driver has no virDomainSetVcpusFlags: the change goes into the definition.
  test('vcpus of a container change at next boot', async () => {
    const reply = await vm('modify', { name, vcpus: 2 });
    expect(reply).toMatchObject({ statuscode: 0, data: { changed: true, applied: { vcpus: 'next_boot' } } });
    expect(await virsh(LXC_URI, ['dumpxml', '--inactive', name])).toMatch(/<vcpu[^>]*>2<\/vcpu>/);
  });

  test('snapshots are UNSUPPORTED for containers', async () => {
    expect(await vm('snapshot_create', { name, snapshot: 's1' })).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    expect(await vm('snapshot_list', { name })).toMatchObject({ statuscode: 0, data: { snapshots: [] } });
  });

  test('shutdown signals its init, which exits by itself', async () => {
    await waitFor(() => existsSync(ready()), `${ready()} (the init's TERM trap)`);
    const reply = await vm('shutdown', { name, timeout: 60 });
    expect(reply).toMatchObject({ statuscode: 0, data: { changed: true, state: 'shutoff', forced: false } });
    expect(await domstate(name, LXC_URI)).toBe('shut off');
    // The trap removed the marker: the init ran its own exit, it was not killed.
    expect(existsSync(ready())).toBe(false);
  });

  test('delete undefines it and leaves its root directory alone', async () => {
    expect(await vm('delete', { name })).toMatchObject({ statuscode: 0, data: { changed: true, state: 'absent', vm_class: 'lxc' } });
    expect(await domstate(name, LXC_URI)).toBe('absent');
    expect(existsSync(join(rootfs, 'sbin', 'init'))).toBe(true);
  });
});
