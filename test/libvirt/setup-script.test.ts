// scripts/libvirt-setup.sh: idempotent from any cwd, and its guest assets really boot.
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testWhen } from '../helpers/runs-here.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/libvirt-setup.sh', import.meta.url));
const ASSETS = process.env.HVAGENT_ASSETS ?? '/var/lib/hvagent/test-assets';
const rootIt = testWhen(process.getuid?.() === 0, 'libvirt-setup.sh start and assets need root');

async function setup(...steps: string[]) {
  return execa(SCRIPT, steps, { cwd: '/', reject: false, all: true, timeout: 600_000 });
}

describe('libvirt-setup.sh', () => {
  it('refuses an unknown step with a clear message', async () => {
    const ran = await setup('frobnicate');
    expect(ran.exitCode).not.toBe(0);
    expect(ran.all).toMatch(/\[libvirt-setup\] ERROR: (unknown step 'frobnicate'|must run as root)/);
  });

  rootIt('start twice leaves the same daemons running and qemu:///system answering', async () => {
    const first = await setup('start');
    expect(first.exitCode).toBe(0);
    const pid = readFileSync('/run/libvirtd.pid', 'utf8').trim();
    const second = await setup('start');
    expect(second.exitCode).toBe(0);
    expect(second.all).toContain(`libvirtd already running (pid ${pid})`);
    expect(readFileSync('/run/libvirtd.pid', 'utf8').trim()).toBe(pid);
    const status = await setup('status');
    expect(status.exitCode).toBe(0);
    expect(status.all).toMatch(/qemu:\/\/\/system: answers/);
  }, 120_000);

  rootIt('builds cached guest assets whose kernel and initramfs boot to GUEST: READY', async () => {
    const built = await setup('assets');
    expect(built.exitCode).toBe(0);
    const again = await setup('assets');
    expect(again.all).toMatch(/kernel cached/);
    expect(again.all).toMatch(/initramfs and LXC rootfs cached/);
    expect(statSync(join(ASSETS, 'ct-rootfs', 'sbin', 'init')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(ASSETS, 'ct-rootfs', 'bin', 'busybox'))).toBe(true);

    // Boot it the way a test VM would, under TCG, and wait for the guest's own signal.
    const guest = execa(
      'qemu-system-x86_64',
      ['-machine', 'q35,accel=tcg', '-m', '256', '-nographic', '-no-reboot',
        '-kernel', join(ASSETS, 'vmlinuz'), '-initrd', join(ASSETS, 'initrd.img'),
        '-append', 'console=ttyS0 panic=-1 quiet'],
      { reject: false, timeout: 180_000, stdin: 'ignore' },
    );
    let output = '';
    const ready = new Promise<void>((resolve) => {
      guest.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('GUEST: READY')) resolve();
      });
    });
    await Promise.race([ready, guest]);
    guest.kill();
    await guest;
    expect(output).toContain('GUEST: BOOT OK');
    expect(output).toContain('GUEST: READY');
    expect(output).not.toContain('insmod');
  }, 300_000);
});
