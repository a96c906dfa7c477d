import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import { removePoolDropin, writePoolDropin } from '../../../src/config/pool-dropins.js';
import { refusal } from '../storage/helpers.js';

// The pools the API makes are drop-in files beside hvagent.yaml: loaded with it, refused
// with a message naming the file when one is wrong, and seen by a long-running process as
// soon as their directory changes.

const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

function configDirectory(mainPools = "storage:\n  pools:\n    base: { plugin: qcow2, path: /srv/base }\n"): { file: string; dropins: string } {
  const root = mkdtempSync(join(tmpdir(), 'hv-dropins-'));
  roots.push(root);
  writeFileSync(join(root, 'hvagent.yaml'), mainPools);
  mkdirSync(join(root, 'pools.d'));
  return { file: join(root, 'hvagent.yaml'), dropins: join(root, 'pools.d') };
}

describe('pool drop-ins', () => {
  test("they join hvagent.yaml's pools; the configuration says which came from where", async () => {
    const { file, dropins } = configDirectory();
    await writePoolDropin(dropins, 'fast', { plugin: 'raw', path: '/srv/fast', max_volume_mb: 100 });
    // Not pools: temporary files, other extensions, names that are not pool names.
    for (const stray of ['.fast.yaml.1a2b', 'notes.txt', 'Big.yaml', 'x.yml']) writeFileSync(join(dropins, stray), 'plugin: dir\npath: /srv/x\n');
    const config = await loadConfig({ HVAGENT_CONFIG: file });
    expect(config.storage.pools).toEqual({ base: { plugin: 'qcow2', path: '/srv/base' }, fast: { plugin: 'raw', path: '/srv/fast', max_volume_mb: 100 } });
    expect(config.storage.dropins).toEqual({ directory: dropins, names: ['fast'] });
  });

  test('written atomically: only the file itself is left, never a temporary one', async () => {
    const { dropins } = configDirectory();
    await writePoolDropin(dropins, 'a', { plugin: 'dir', path: '/srv/a' });
    await writePoolDropin(dropins, 'a', { plugin: 'dir', path: '/srv/b' });
    expect(readdirSync(dropins)).toEqual(['a.yaml']);
    removePoolDropin(dropins, 'a');
    expect(readdirSync(dropins)).toEqual([]);
  });

  test('a drop-in that repeats a pool of hvagent.yaml, or does not validate, is CONFIG_INVALID naming its file', async () => {
    const clash = configDirectory();
    await writePoolDropin(clash.dropins, 'base', { plugin: 'dir', path: '/srv/other' });
    const error = await refusal(() => loadConfig({ HVAGENT_CONFIG: clash.file }));
    expect([error.code, error.message]).toEqual(['CONFIG_INVALID', expect.stringContaining(join(clash.dropins, 'base.yaml'))]);

    const invalid = configDirectory();
    writeFileSync(join(invalid.dropins, 'bad.yaml'), 'plugin: dir\npath: /srv/bad\nsize: 5\n');
    expect((await refusal(() => loadConfig({ HVAGENT_CONFIG: invalid.file }))).message).toMatch(/bad\.yaml.*unknown key 'size'/);
    writeFileSync(join(invalid.dropins, 'bad.yaml'), 'plugin: lvm\n');
    expect((await refusal(() => loadConfig({ HVAGENT_CONFIG: invalid.file }))).message).toMatch(/pool 'bad' \(lvm\) needs 'volume_group'/);
    writeFileSync(join(invalid.dropins, 'bad.yaml'), 'plugin: [dir\n');
    expect((await refusal(() => loadConfig({ HVAGENT_CONFIG: invalid.file }))).message).toMatch(/bad\.yaml is not valid YAML/);
  });

  test('a long-running process reads its configuration once, and again only when a drop-in comes or goes', async () => {
    const { file, dropins } = configDirectory();
    const saved = process.env.HVAGENT_CONFIG;
    process.env.HVAGENT_CONFIG = file;
    try {
      const first = loadConfig();
      expect(loadConfig()).toBe(first);
      expect(Object.keys((await first).storage.pools)).toEqual(['base']);
      await writePoolDropin(dropins, 'made', { plugin: 'dir', path: '/srv/made' });
      const second = loadConfig();
      expect(second).not.toBe(first);
      expect(Object.keys((await second).storage.pools)).toEqual(['base', 'made']);
      expect(loadConfig()).toBe(second);
      removePoolDropin(dropins, 'made');
      expect(Object.keys((await loadConfig()).storage.pools)).toEqual(['base']);
    } finally {
      if (saved === undefined) delete process.env.HVAGENT_CONFIG;
      else process.env.HVAGENT_CONFIG = saved;
    }
  });
});
