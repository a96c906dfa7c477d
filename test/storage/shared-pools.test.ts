// A pool declared shared: true, one directory seen by two libvirtds: this host's and host2
// (qemu+tcp://10.99.0.2/system, a libvirtd in its own network namespace on the same
// filesystem, test/migration/host2.ts). A volume that a VM of host2 uses is not removed
// from here (volume delete, vm delete remove_volumes); a host2 that cannot be asked refuses
// the removal too; the volume lock is a file in the shared directory, which an agent of
// another host (another lock_dir) honours.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { AGENT, agentEnv, stdioRpc } from '../helpers/agent.js';
import { ensureHost2, HOST2_URI, removeFromHost2 } from '../migration/host2.js';
import { cleanup, diskGuestSpec, guestSpec, newVmName, waitFor } from '../vm/helpers.js';
import { StorageSandbox } from './helpers.js';

// Decided before the tests are collected: a machine without network namespaces skips
// them, loudly; HVAGENT_REQUIRE_HOST2=1 (CI) makes that a failure instead.
const host2 = await ensureHost2();
if (!host2.ok) {
  if (process.env.HVAGENT_REQUIRE_HOST2 === '1') throw new Error(host2.why);
  console.warn(`SKIPPING shared pool tests: ${host2.why}`);
}
const describeHost2 = host2.ok ? describe : describe.skip;

const box = new StorageSandbox({ shared: { plugin: 'qcow2' } });
const pool = box.pool('shared');
const onHost2 = new Set<string>();

/** This host's configuration with the pool shared, asking `hosts`; written next to the sandbox's. */
async function sharedConfig(label: string, hosts: string[], lockDir = join(box.root, 'locks')): Promise<Record<string, string>> {
  const config = parse(await readFile(box.configFile, 'utf8')) as { storage: { pools: Record<string, Record<string, unknown>>; shared_hosts?: string[] }; paths: Record<string, string> };
  config.storage.pools[pool]!.shared = true;
  config.storage.shared_hosts = hosts;
  config.paths.lock_dir = lockDir;
  const file = join(box.root, `${label}.yaml`);
  writeFileSync(file, stringify(config));
  return { HVAGENT_CONFIG: file };
}

/** A VM defined on host2 (shut off, never started) whose disk is `disk`. */
async function defineOnHost2(disk: string): Promise<string> {
  const name = `t-shared-${box.token}-${onHost2.size}`;
  onHost2.add(name);
  const xml = join(box.root, `${name}.xml`);
  writeFileSync(
    xml,
    `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>` +
      `<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`,
  );
  await execa('virsh', ['-c', HOST2_URI, 'define', xml]);
  return name;
}

afterAll(async () => {
  for (const name of onHost2) await removeFromHost2(name);
  await cleanup();
  await box.cleanup();
});

describeHost2('a shared pool seen by two libvirtds', () => {
  test("volume delete: refused while a host2 VM uses the volume (force or not), and while host2 cannot be asked; allowed once it does not", async () => {
    const env = await sharedConfig('host1', [HOST2_URI]);
    const volume = (data: Record<string, unknown>, action = 'delete', with_ = env) => stdioRpc({ agent: 'volume', action, data: { pool, ...data } }, with_);
    expect(await volume({ name: 'disk1', size_mb: 8 }, 'create')).toMatchObject({ statuscode: 0 });
    const path = box.volumePath('shared', 'disk1');
    const remoteVm = await defineOnHost2(path);

    for (const force of [false, true]) {
      const refused = await volume({ name: 'disk1', force });
      expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
      expect(refused.statusmsg).toContain(`${remoteVm}@10.99.0.2`);
      expect(existsSync(path)).toBe(true);
    }
    const unreachable = await sharedConfig('unreachable', ['qemu+tcp://127.0.0.1:1/system']);
    const blind = await volume({ name: 'disk1', force: true }, 'delete', unreachable);
    expect(blind).toMatchObject({ statuscode: 1, data: { error_code: 'HYPERVISOR_UNREACHABLE' } });
    expect(blind.statusmsg).toContain('qemu+tcp://127.0.0.1:1/system');
    expect(existsSync(path)).toBe(true);

    await removeFromHost2(remoteVm);
    expect(await volume({ name: 'disk1' })).toMatchObject({ statuscode: 0, data: { changed: true } });
    expect(existsSync(path)).toBe(false);
  });

  test('vm create disk= on a volume a host2 VM uses is refused, naming it; nothing is defined here', async () => {
    const env = await sharedConfig('host1-disk', [HOST2_URI]);
    expect(await stdioRpc({ agent: 'volume', action: 'create', data: { pool, name: 'taken', size_mb: 8 } }, env)).toMatchObject({ statuscode: 0 });
    const disk = box.volumePath('shared', 'taken');
    const remoteVm = await defineOnHost2(disk);
    const name = newVmName();
    const refused = await stdioRpc({ agent: 'vm', action: 'create', data: diskGuestSpec(name, disk, { disk_format: 'qcow2' }) }, env);
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(refused.statusmsg).toContain("Input 'disk'");
    expect(refused.statusmsg).toContain(`${remoteVm}@10.99.0.2`);
    expect((await execa('virsh', ['-c', 'qemu:///system', 'domstate', name], { reject: false })).exitCode).not.toBe(0);
  });

  test('vm delete remove_volumes=true: refused while host2 uses the VM’s volume; the VM and its volume stay', async () => {
    const env = await sharedConfig('host1-vm', [HOST2_URI]);
    const name = newVmName();
    expect(await stdioRpc({ agent: 'vm', action: 'create', data: guestSpec(name, { disk_size_mb: 16, pool }) }, env)).toMatchObject({ statuscode: 0 });
    const disk = box.volumePath('shared', `${name}-root`);
    const remoteVm = await defineOnHost2(disk);
    const refused = await stdioRpc({ agent: 'vm', action: 'delete', data: { name, remove_volumes: true } }, env);
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(refused.statusmsg).toContain(`${remoteVm}@10.99.0.2`);
    expect(existsSync(disk)).toBe(true);
    expect((await execa('virsh', ['-c', 'qemu:///system', 'domstate', name])).stdout.trim()).toBe('shut off');

    await removeFromHost2(remoteVm);
    expect(await stdioRpc({ agent: 'vm', action: 'delete', data: { name, remove_volumes: true } }, env)).toMatchObject({
      statuscode: 0,
      data: { removed_volumes: [`${pool}/${name}-root`] },
    });
    expect(existsSync(disk)).toBe(false);
  });

  test("the volume lock lives in the shared directory: another host's agent (its own lock_dir) waits for it", async () => {
    const here = await sharedConfig('here', [HOST2_URI]);
    const elsewhere = await sharedConfig('elsewhere', [HOST2_URI], join(box.root, 'locks-of-another-host'));
    expect(await stdioRpc({ agent: 'volume', action: 'create', data: { pool, name: 'locked', size_mb: 8 } }, here)).toMatchObject({ statuscode: 0 });
    const lockFile = join(box.poolPath('shared'), '.hvagent-locks', `volume-${pool}.locked.lock`);
    expect(existsSync(lockFile)).toBe(true);

    // The lock held as an agent of the other host would hold it: flock on that file, until stdin closes.
    const holder = execa('flock', ['--exclusive', lockFile, 'cat'], { stdin: 'pipe' });
    const inode = `:${statSync(lockFile).ino} `;
    const locks = async () => (await readFile('/proc/locks', 'utf8')).split('\n').filter((line) => line.includes(inode));
    await waitFor(async () => (await locks()).some((line) => !line.includes('->')), 'the holder to lock');
    const deletion = execa(AGENT, ['rpc'], { input: JSON.stringify({ agent: 'volume', action: 'delete', data: { pool, name: 'locked' } }), env: agentEnv(elsewhere), extendEnv: false, reject: false });
    // The agent blocks on the same lock (a waiter shows in /proc/locks as "->"), and the volume is still there.
    await waitFor(async () => (await locks()).some((line) => line.includes('->')), 'the agent to wait for the lock');
    expect(existsSync(box.volumePath('shared', 'locked'))).toBe(true);
    holder.stdin!.end();
    await holder;
    expect(JSON.parse((await deletion).stdout)).toMatchObject({ statuscode: 0, data: { changed: true } });
    expect(existsSync(box.volumePath('shared', 'locked'))).toBe(false);
  });
});
