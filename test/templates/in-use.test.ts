// A template's file under the VMs and volumes cloned from it, on the real libvirtd: a thin
// clone of a shut-off VM (whose backing chain libvirt does not report: it is read from the
// qcow2 headers) keeps `template delete` from removing it; `replace=true` gives the template
// a new file and leaves the old one, byte for byte, under the clone until nothing uses it;
// `template prune` then removes it. A volume made from the file counts as a user too.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stdioRpc, type Reply } from '../helpers/agent.js';
import { cleanup, domstate, LOCK_DIR, newVmName, virsh, waitFor, QEMU_URI } from '../vm/helpers.js';
import { testCatalogue } from './helpers.js';
import { importSandbox, run, sha256Of, TINY, type ImportSandbox } from './import-helpers.js';

let box: ImportSandbox;

beforeAll(async () => {
  await testCatalogue();
  box = importSandbox();
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', join(box.importDir, 'other.qcow2'), '8M']);
});

afterAll(async () => {
  await cleanup();
  await box?.remove();
});

const agent = (name: string, action: string, data: Record<string, unknown>): Promise<Reply> => stdioRpc({ agent: name, action, data }, box.env);

async function backingOf(volume: string): Promise<string | undefined> {
  const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', '-U', volume])).stdout) as { 'backing-filename'?: string };
  return info['backing-filename'];
}

test('a file in a VM disk chain or under a volume is never removed; replace leaves it, prune takes it once unused', async () => {
  const imported = await agent('template', 'import', { ref: 'image:base', source: TINY });
  expect(imported.statuscode).toBe(0);
  const oldFile = imported.data.file as string;
  const tinySum = await sha256Of(TINY);

  // A disk too small for the image: refused, naming the input and the size it needs, nothing made.
  const virtualMb = Math.ceil((JSON.parse((await execa('qemu-img', ['info', '--output=json', TINY])).stdout) as { 'virtual-size': number })['virtual-size'] / 1048576);
  const small = await agent('vm', 'create', { name: newVmName(), vm_class: 'qemu', template: 'base', pool: box.poolName, disk_size_mb: virtualMb - 1 });
  expect(small).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
  expect(small.statusmsg).toBe(`Input 'disk_size_mb': image:base needs at least ${virtualMb} MiB`);
  expect(readdirSync(box.pool)).toEqual([]);

  // A bare name in vm create is the class's default type: image for qemu.
  const vm = newVmName();
  const created = await agent('vm', 'create', { name: vm, vm_class: 'qemu', template: 'base', pool: box.poolName, memory_mb: 128 });
  expect(created).toMatchObject({ statuscode: 0, data: { template: 'image:base', state: 'shutoff' } });
  const volume = (created.data.volumes as Array<{ path: string }>)[0]!.path;
  expect(await backingOf(volume)).toBe(oldFile);
  // libvirt itself names only the clone for a shut-off VM, not the file under it.
  expect(await virsh(QEMU_URI, ['domstats', '--raw', '--block', '--backing', vm])).not.toContain(oldFile);

  const refused = await agent('template', 'delete', { ref: 'base' });
  expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'TEMPLATE_IN_USE' } });
  expect(refused.statusmsg).toBe(`Template image:base is in use by VMs ${vm} (${oldFile} is in their disk chains): delete those first; nothing was changed`);
  expect(existsSync(oldFile)).toBe(true);

  const replaced = await agent('template', 'import', { ref: 'image:base', source: join(box.importDir, 'other.qcow2'), replace: true });
  expect(replaced).toMatchObject({ statuscode: 0, data: { changed: true, replaced: true, removed_files: [], kept_files: [oldFile] } });
  expect(replaced.data.file).not.toBe(oldFile);
  // The clone still stands on the old bytes.
  expect(await sha256Of(oldFile)).toBe(tinySum);
  expect(await backingOf(volume)).toBe(oldFile);
  expect((await agent('template', 'prune', {})).data).toMatchObject({ changed: false, removed_files: [], kept_files: [{ file: oldFile, used_by: [vm], volumes: [] }] });

  expect((await agent('vm', 'delete', { name: vm, remove_volumes: true })).statuscode).toBe(0);
  expect((await agent('template', 'prune', {})).data).toMatchObject({ changed: true, removed_files: [oldFile], kept_files: [] });
  expect(existsSync(oldFile)).toBe(false);

  // A volume backed by the template's (new) file, attached to no VM: a user as well.
  const newFile = replaced.data.file as string;
  const made = await agent('volume', 'create', { pool: box.poolName, name: 'clone1', backing: newFile, image_format: 'qcow2' });
  expect(made.statuscode).toBe(0);
  const byVolume = await agent('template', 'delete', { ref: 'image:base' });
  expect(byVolume.data.error_code).toBe('TEMPLATE_IN_USE');
  expect(byVolume.statusmsg).toContain(`volumes ${box.poolName}/clone1`);
  expect((await agent('volume', 'delete', { pool: box.poolName, name: 'clone1' })).statuscode).toBe(0);
  expect((await agent('template', 'delete', { ref: 'image:base' })).data).toMatchObject({ changed: true, removed_files: [newFile] });
  expect(existsSync(newFile)).toBe(false);
});

/** Holds a catalogue's file lock (as a provision or a prune does) until released. */
async function holdFilesLock(catalogue: string, mode: 'shared' | 'exclusive') {
  // The lock file is named after the catalogue's real path (docs/TEMPLATES.md).
  const id = createHash('sha256').update(realpathSync(catalogue)).digest('hex').slice(0, 16);
  // --no-fork: the holder is this one process, and killing it releases the lock.
  const holder = execa('flock', ['--no-fork', `--${mode}`, join(LOCK_DIR, `templatefiles-${id}.lock`), 'sh', '-c', 'echo held; exec sleep 600'], { reject: false });
  await new Promise((resolve) => holder.stdout!.once('data', resolve));
  return { release: async () => void (holder.kill('SIGKILL'), await holder) };
}

test('the catalogue file lock: an import does not remove a file while a provision may be about to use it; vm create waits for a delete', async () => {
  const first = await agent('template', 'import', { ref: 'image:locked', source: TINY });
  const shared = await holdFilesLock(box.catalogue, 'shared');
  let replaced: Reply;
  try {
    // Replaced while "a provision" holds the files: the old file is not pruned now…
    replaced = await agent('template', 'import', { ref: 'image:locked', source: join(box.importDir, 'other.qcow2'), replace: true });
    expect(replaced.data).toMatchObject({ changed: true, removed_files: [], kept_files: [] });
    expect(existsSync(first.data.file as string)).toBe(true);
  } finally {
    await shared.release();
  }
  // …but by the next prune.
  expect((await agent('template', 'prune', {})).data).toMatchObject({ removed_files: [first.data.file] });

  // A provision takes the lock shared: while it is held exclusively (a delete), vm create waits.
  const exclusive = await holdFilesLock(box.catalogue, 'exclusive');
  const vm = newVmName();
  let done = false;
  const creating = agent('vm', 'create', { name: vm, vm_class: 'qemu', template: 'image:locked', pool: box.poolName, memory_mb: 128 }).finally(() => (done = true));
  try {
    // The agent's flock child waiting for the shared lock is the signal that it waits.
    await waitFor(async () => (await execa('pgrep', ['-f', '^flock --shared --timeout'], { reject: false })).exitCode === 0, 'vm create to wait for the file lock');
    expect(done).toBe(false);
    expect(await domstate(vm)).toBe('absent');
  } finally {
    await exclusive.release();
  }
  expect((await creating).data).toMatchObject({ name: vm, template: 'image:locked' });
  expect((await agent('vm', 'delete', { name: vm, remove_volumes: true })).statuscode).toBe(0);
});
