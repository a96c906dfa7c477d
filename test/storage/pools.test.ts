// Storage pools made and removed through the pool agent, on real directories: the drop-in
// files beside a private hvagent.yaml, the directories, libvirt's mirror pools, and what
// the volume and host agents see, checked with fs, YAML, virsh and qemu-img.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { AGENT, agentEnv, stdioRpc, type Reply } from '../helpers/agent.js';

const token = randomBytes(4).toString('hex');
const root = `/var/lib/hvagent/hres-${token}`;
const configFile = join(root, 'etc', 'hvagent.yaml');
const dropins = join(root, 'etc', 'pools.d');
const env = { HVAGENT_CONFIG: configFile };
/** The one pool hvagent.yaml names: the operator's, read-only to the API. */
const fixed = `hres${token}-fixed`;
const poolName = (key: string) => `hres${token}-${key}`;
const place = (key: string) => join(root, 'pools', key);

const rpc = (agent: string, action: string, data: Record<string, unknown>, extra: Record<string, string> = {}) => stdioRpc({ agent, action, data }, { ...env, ...extra });
const pool = (action: string, data: Record<string, unknown>, extra: Record<string, string> = {}) => rpc('pool', action, data, extra);

async function libvirtPools(): Promise<string[]> {
  return (await execa('virsh', ['-c', 'qemu:///system', 'pool-list', '--all', '--name'])).stdout.split('\n').map((line) => line.trim()).filter(Boolean);
}

beforeAll(() => {
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(configFile, stringify({ storage: { pools: { [fixed]: { plugin: 'qcow2', path: place('fixed') } } }, paths: { lock_dir: join(root, 'locks') } }));
});

afterAll(async () => {
  for (const name of (await libvirtPools()).filter((pool) => pool.startsWith(`hvagent-hres${token}-`))) {
    await execa('virsh', ['-c', 'qemu:///system', 'pool-destroy', name], { reject: false });
    await execa('virsh', ['-c', 'qemu:///system', 'pool-undefine', name], { reject: false });
  }
  rmSync(root, { recursive: true, force: true });
});

describe('a pool made through the API', () => {
  const name = poolName('fast');

  test('create: the directory, the drop-in beside hvagent.yaml, and libvirt mirror it', async () => {
    const reply = await pool('create', { name, plugin: 'qcow2', path: join(place('fast'), 'deeper'), max_volume_mb: 512 });
    expect(reply).toMatchObject({
      statuscode: 0,
      data: { name, changed: true, pool: { name, plugin: 'qcow2', path: join(place('fast'), 'deeper'), max_volume_mb: 512, managed_by: 'api', file: join(dropins, `${name}.yaml`) }, libvirt_pool: `hvagent-${name}`, libvirt_error: null },
    });
    expect(parse(readFileSync(join(dropins, `${name}.yaml`), 'utf8'))).toEqual({ plugin: 'qcow2', path: join(place('fast'), 'deeper'), max_volume_mb: 512 });
    expect(readdirSync(dropins)).toEqual([`${name}.yaml`]);
    expect(existsSync(join(place('fast'), 'deeper'))).toBe(true);
    expect((await execa('virsh', ['-c', 'qemu:///system', 'pool-info', `hvagent-${name}`])).stdout).toMatch(/State:\s+running/);
  });

  test('volume create and list, and host usage, see it at once; its limits hold', async () => {
    expect(await rpc('volume', 'create', { pool: name, name: 'disk1', size_mb: 64 })).toMatchObject({ statuscode: 0, data: { pool: name, capacity_mb: 64 } });
    const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', '-f', 'qcow2', join(place('fast'), 'deeper', 'disk1')])).stdout) as { 'virtual-size': number };
    expect(info['virtual-size']).toBe(64 * 1024 * 1024);
    expect((await rpc('volume', 'list', { pool: name })).data).toMatchObject({ count: 1, volumes: [{ name: 'disk1', pool: name }] });
    expect(await rpc('volume', 'create', { pool: name, name: 'big', size_mb: 513 })).toMatchObject({ statuscode: 1, data: { error_code: 'QUOTA_EXCEEDED' } });
    const usage = await rpc('host', 'usage', { cpu_window_ms: 100 });
    expect(usage.data.storage_pools).toContainEqual(expect.objectContaining({ name, plugin: 'qcow2', status: 'ok' }));
    expect((await pool('list', {})).data).toMatchObject({ names: [name, fixed].sort() });
  });

  test('the same create again is no change; one that differs is a CONFLICT naming the difference', async () => {
    expect(await pool('create', { name, plugin: 'qcow2', path: join(place('fast'), 'deeper'), max_volume_mb: 512 })).toMatchObject({ statuscode: 0, data: { changed: false } });
    const other = await pool('create', { name, plugin: 'raw', path: join(place('fast'), 'deeper') });
    expect(other).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(other.statusmsg).toContain('plugin qcow2 (asked: raw)');
    expect(other.statusmsg).toContain('max_volume_mb 512 (asked: none)');
    expect(parse(readFileSync(join(dropins, `${name}.yaml`), 'utf8'))).toMatchObject({ plugin: 'qcow2' });
  });

  test('delete is refused while it holds a volume; then the drop-in, the directory and the libvirt pool go; again is no change', async () => {
    const refused = await pool('delete', { name });
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT', error_details: { volumes: ['disk1'] } } });
    expect(existsSync(join(dropins, `${name}.yaml`))).toBe(true);
    expect(await rpc('volume', 'delete', { pool: name, name: 'disk1' })).toMatchObject({ statuscode: 0, data: { changed: true } });
    expect(await pool('delete', { name })).toMatchObject({ statuscode: 0, data: { changed: true, removed_directory: true } });
    expect(existsSync(join(dropins, `${name}.yaml`))).toBe(false);
    expect(existsSync(join(place('fast'), 'deeper'))).toBe(false);
    expect(await libvirtPools()).not.toContain(`hvagent-${name}`);
    expect(await rpc('volume', 'list', { pool: name })).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
    expect(await pool('delete', { name })).toMatchObject({ statuscode: 0, data: { changed: false } });
  });

  test('dir and raw pools: a container root directory and a raw image', async () => {
    const [dir, raw] = [poolName('dir'), poolName('raw')];
    expect(await pool('create', { name: dir, plugin: 'dir', path: place('dir') })).toMatchObject({ statuscode: 0 });
    expect(await pool('create', { name: raw, plugin: 'raw', path: place('raw') })).toMatchObject({ statuscode: 0 });
    expect(await rpc('volume', 'create', { pool: dir, name: 'ct1' })).toMatchObject({ statuscode: 0, data: { plugin: 'dir' } });
    expect(await rpc('volume', 'create', { pool: raw, name: 'img1', size_mb: 8 })).toMatchObject({ statuscode: 0, data: { plugin: 'raw', format: 'raw' } });
    expect(existsSync(join(place('dir'), 'ct1'))).toBe(true);
    expect(readFileSync(join(place('raw'), 'img1')).length).toBe(8 * 1024 * 1024);
  });
});

describe('pools the API may not make or remove', () => {
  test('pools of hvagent.yaml are read-only: create and delete are refused, and nothing changes', async () => {
    for (const reply of [await pool('create', { name: fixed, plugin: 'qcow2', path: place('fixed') }), await pool('delete', { name: fixed })]) {
      expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
      expect(reply.statusmsg).toContain('hvagent.yaml');
    }
    expect(existsSync(join(dropins, `${fixed}.yaml`))).toBe(false);
    expect((await pool('list', {})).data.pools).toContainEqual(expect.objectContaining({ name: fixed, managed_by: 'config', file: null }));
  });

  test('paths outside the allowed directories, symlinks, overlaps and bad names are typed errors naming the input; nothing is made', async () => {
    mkdirSync(join(root, 'real'), { recursive: true });
    symlinkSync(join(root, 'real'), join(root, 'link'));
    symlinkSync('/tmp', join(root, 'escape'));
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ path: `/tmp/hres-${token}` }, 'NOT_AUTHORIZED', 'path'],
      [{ path: '/var/lib/hvagent' }, 'NOT_AUTHORIZED', 'path'],
      [{ path: join(root, 'escape', 'pool') }, 'NOT_AUTHORIZED', 'path'],
      [{ path: join(root, 'link') }, 'INPUT_INVALID', 'path'],
      [{ path: `${root}/a/../b` }, 'INPUT_INVALID', 'path'],
      [{ path: join(place('fixed'), 'inner') }, 'CONFLICT', 'path'],
      [{ path: root }, 'CONFLICT', 'path'],
      [{ path: '/var/lib/hvagent/templates/hres' }, 'CONFLICT', 'path'],
      [{ plugin: 'lvm', path: place('x') }, 'INPUT_REQUIRED', 'volume_group'],
      [{ plugin: 'dir', volume_group: 'vg0', path: place('x') }, 'INPUT_INVALID', 'volume_group'],
    ];
    for (const [fields, code, input] of cases) {
      const name = poolName('bad');
      const reply = await pool('create', { name, plugin: 'raw', ...fields });
      expect([fields, reply.data.error_code, reply.statusmsg]).toEqual([fields, code, expect.stringContaining(`'${input}'`)]);
      expect(existsSync(join(dropins, `${name}.yaml`))).toBe(false);
    }
    expect(existsSync(`/tmp/hres-${token}`)).toBe(false);
    expect(existsSync(place('x'))).toBe(false);
    expect(await pool('create', { name: 'Bad/Name', plugin: 'raw', path: place('x') })).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
  });

  test('a create that fails once the drop-in is written leaves neither the drop-in nor the directories it made (HVAGENT_TEST_FAIL_AFTER=pool-create)', async () => {
    const name = poolName('failed');
    const reply = await pool('create', { name, plugin: 'raw', path: join(root, 'made', 'for', 'failed') }, { HVAGENT_TEST_FAIL_AFTER: 'pool-create' });
    expect(reply).toMatchObject({ statuscode: 5, data: { error_code: 'INTERNAL' } });
    expect(existsSync(join(dropins, `${name}.yaml`))).toBe(false);
    expect(existsSync(join(root, 'made'))).toBe(false);
    expect(await libvirtPools()).not.toContain(`hvagent-${name}`);
  });
});

test('a long-running stream (hvagent rpc --stream) sees a pool another process made, and its removal, with its next request', async () => {
  const stream = execa(AGENT, ['rpc', '--stream'], { env: agentEnv(env), extendEnv: false, stdin: 'pipe', stdout: 'pipe', reject: false });
  const replies = createInterface({ input: stream.stdout! })[Symbol.asyncIterator]();
  const ask = async (data: Record<string, unknown>): Promise<Reply> => {
    stream.stdin!.write(`${JSON.stringify({ agent: 'volume', action: 'list', data })}\n`);
    return JSON.parse(String((await replies.next()).value)) as Reply;
  };
  try {
    const name = poolName('streamed');
    expect(await ask({ pool: name })).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
    expect(await pool('create', { name, plugin: 'raw', path: place('streamed') })).toMatchObject({ statuscode: 0 });
    expect(await ask({ pool: name })).toMatchObject({ statuscode: 0, data: { count: 0 } });
    expect(await pool('delete', { name })).toMatchObject({ statuscode: 0, data: { changed: true } });
    expect(await ask({ pool: name })).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
  } finally {
    stream.stdin!.end();
    await stream;
  }
});
