// No sharing by accident, against the real libvirtd: a disk or root directory named by
// path that another defined VM or container uses is refused (CONFLICT, naming the input
// and the user), as is a qcow2 disk whose backing file lies outside the image
// directories; two creates racing for one disk cannot both win. Nothing is booted.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ASSETS, cleanup, containerRootfs, definedDomains, diskGuestSpec, domstate, LXC_URI, newVmName, qcow2Disk, replyOf, scratchPath, spawnVm, vm } from './helpers.js';

afterAll(cleanup);

const absent = async (name: string, uri?: string) => (await domstate(name, uri).catch(() => 'absent')) === 'absent';

describe('disks', () => {
  test("a disk another VM (defined, shut off) already has is refused, naming it; the VM is not defined", async () => {
    const disk = await qcow2Disk(16);
    const owner = newVmName();
    expect(await vm('create', diskGuestSpec(owner, disk))).toMatchObject({ statuscode: 0 });
    const second = newVmName();
    const refused = await vm('create', diskGuestSpec(second, disk));
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(refused.statusmsg).toContain("Input 'disk'");
    expect(refused.statusmsg).toContain(owner);
    expect(await absent(second)).toBe(true);
  });

  test('a disk whose backing file lies outside the image directories is refused by name and nothing is defined', async () => {
    const outside = `/var/tmp/t-sharing-${process.pid}.raw`;
    await execa('qemu-img', ['create', '-q', '-f', 'raw', outside, '8M']);
    try {
      const disk = scratchPath('leaky.qcow2');
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', outside, '-F', 'raw', disk]);
      const name = newVmName();
      const refused = await vm('create', diskGuestSpec(name, disk));
      expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
      expect(refused.statusmsg).toContain("Input 'disk'");
      expect(refused.statusmsg).toContain(outside);
      expect(await absent(name)).toBe(true);
    } finally {
      rmSync(outside, { force: true });
    }
  });

  test('two creates racing for one free disk: exactly one is defined, the other is a CONFLICT', async () => {
    for (let round = 0; round < 3; round += 1) {
      const disk = await qcow2Disk(16);
      const names = [newVmName(), newVmName()];
      const ran = await Promise.all(names.map((name) => spawnVm('create', diskGuestSpec(name, disk))));
      const replies = ran.map(replyOf);
      expect(replies.map((reply) => reply.statuscode).sort()).toEqual([0, 1]);
      expect(replies.find((reply) => reply.statuscode === 1)!.data.error_code).toBe('CONFLICT');
      const defined = await definedDomains();
      expect(names.filter((name) => defined.includes(name))).toHaveLength(1);
    }
  });
});

describe('container root directories', () => {
  test("another container's root directory, or a directory inside it, is refused; a root of its own is accepted", async () => {
    const rootfs = await containerRootfs();
    const owner = newVmName();
    expect(await vm('create', { name: owner, vm_class: 'lxc', rootfs, memory_mb: 64 })).toMatchObject({ statuscode: 0 });
    const nested = join(rootfs, 'srv', 'nested');
    mkdirSync(nested, { recursive: true });
    for (const path of [rootfs, nested]) {
      const name = newVmName();
      const refused = await vm('create', { name, vm_class: 'lxc', rootfs: path, memory_mb: 64 });
      expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
      expect(refused.statusmsg).toContain("Input 'rootfs'");
      expect(refused.statusmsg).toContain(owner);
      expect(await absent(name, LXC_URI)).toBe(true);
    }
    const own = await containerRootfs();
    expect(own.startsWith(ASSETS)).toBe(true);
    const name = newVmName();
    expect(await vm('create', { name, vm_class: 'lxc', rootfs: own, memory_mb: 64 })).toMatchObject({ statuscode: 0 });
  });
});
