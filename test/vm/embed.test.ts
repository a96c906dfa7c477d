import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stdioRpc } from '../helpers/agent.js';
import { ASSETS, CMDLINE, guestSpec, INITRD, KERNEL, newVmName, requireGuestAssets, serialLogPath, waitFor, waitForSerial } from './helpers.js';

// libvirt's embedded QEMU driver (qemu:///embed?root=DIR): no daemon, and nothing
// watches QEMU between connections. A guest that powers itself off must be reported
// shut off, not "running" as the driver remembers it (docs/reference/backends.md, addendum).

const root = mkdtempSync(join(ASSETS, 'embed-'));
// QEMU runs as libvirt-qemu and must reach the driver's state under the root.
chmodSync(root, 0o755);
mkdirSync(join(root, 'etc'), { recursive: true });
// Without virtlogd: the embedded driver writes the console log itself.
writeFileSync(join(root, 'etc', 'qemu.conf'), 'stdio_handler = "file"\n');
const uri = `qemu:///embed?root=${root}`;
const env = { HVAGENT_URI: uri };
const name = newVmName();
const vm = (action: string, data: Record<string, unknown>) => stdioRpc({ agent: 'vm', action, data }, env);
const virsh = (args: string[]) => execa('virsh', ['-c', uri, ...args], { reject: false, env: { LC_ALL: 'C' } });

beforeAll(() => requireGuestAssets());

afterAll(async () => {
  await virsh(['destroy', name]);
  await virsh(['undefine', name]);
  rmSync(serialLogPath(name), { force: true });
  rmSync(root, { recursive: true, force: true });
});

describe('the embedded QEMU driver', () => {
  test('a guest started through the agent boots, with no libvirtd involved', async () => {
    const reply = await vm('create', { ...guestSpec(name), kernel: KERNEL, initrd: INITRD, cmdline: CMDLINE, start: true });
    expect(reply).toMatchObject({ statuscode: 0, statusmsg: 'OK', data: { changed: true, state: 'running' } });
    await waitForSerial(name);
  });

  test('a guest that powered itself off is reported shut off by info and list', async () => {
    // The ACPI request comes from outside the agent; the guest powers off on its own.
    expect((await virsh(['shutdown', name])).exitCode).toBe(0);
    await waitForSerial(name, 'reboot: Power down');
    // The kernel prints its last line a moment before QEMU stops the guest (longer on a loaded
    // host): until then it runs. Every answer is running or shut off, never an error or "other".
    const answers: unknown[][] = [];
    await waitFor(async () => {
      const info = await vm('info', { name });
      answers.push([info.statuscode, info.statusmsg, info.data.state]);
      return info.data.state !== 'running' || undefined;
    }, `${name} to be reported stopped`);
    expect(answers.at(-1)).toEqual([0, 'OK', 'shutoff']);
    expect(answers.slice(0, -1).filter(([code, , state]) => code !== 0 || state !== 'running')).toEqual([]);
    const listed = (await vm('list', {})).data.vms as Array<{ name: string; state: string }>;
    expect(listed.find((entry) => entry.name === name)?.state).toBe('shutoff');
  });

  test('shutdown through the agent waits for the real end of the guest', async () => {
    expect(await vm('start', { name })).toMatchObject({ statuscode: 0, data: { changed: true, state: 'running' } });
    await waitForSerial(name, 'GUEST: READY', 2);
    expect(await vm('shutdown', { name, timeout: 60 })).toMatchObject({ statuscode: 0, statusmsg: 'OK', data: { changed: true, state: 'shutoff', forced: false } });
    expect(String((await virsh(['domstate', name])).stdout).trim()).toBe('shut off');
    expect(await vm('delete', { name })).toMatchObject({ statuscode: 0, data: { changed: true } });
  });
});
