import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import { refusal } from '../storage/helpers.js';

// shared: true is for image pools that other hosts mount, and those hosts must be named:
// without them the in-use check would see this host alone. Both mistakes are refused when
// the configuration is read, naming the pool.

const root = mkdtempSync(join(tmpdir(), 'hv-shared-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function load(yaml: string) {
  const file = join(root, `${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ HVAGENT_CONFIG: file });
}

test('a shared qcow2 pool with the other hosts listed loads as written', async () => {
  const config = await load('storage:\n  pools:\n    nfs: { plugin: qcow2, path: /srv/nfs, shared: true }\n  shared_hosts: [qemu+tcp://10.99.0.2/system]\n');
  expect(config.storage.pools.nfs).toEqual({ plugin: 'qcow2', path: '/srv/nfs', shared: true });
  expect(config.storage.shared_hosts).toEqual(['qemu+tcp://10.99.0.2/system']);
});

test('a shared pool without storage.shared_hosts, and a shared dir pool, are CONFIG_INVALID naming the pool', async () => {
  const alone = await refusal(() => load('storage:\n  pools:\n    nfs: { plugin: qcow2, path: /srv/nfs, shared: true }\n'));
  expect(alone.code).toBe('CONFIG_INVALID');
  expect(alone.message).toContain("pool 'nfs' is shared: list the other hosts");
  const roots = await refusal(() => load("storage:\n  pools:\n    ct: { plugin: dir, path: /srv/ct, shared: true }\n  shared_hosts: ['qemu+tcp://10.99.0.2/system']\n"));
  expect(roots.code).toBe('CONFIG_INVALID');
  expect(roots.message).toContain("pool 'ct' (dir) cannot be shared");
});

test('a shared host that is not a libvirt URI is refused', async () => {
  const bad = await refusal(() => load("storage:\n  pools: {}\n  shared_hosts: ['qemu+tcp://x/system; reboot']\n"));
  expect(bad.code).toBe('CONFIG_INVALID');
  expect(bad.message).toContain('shared_hosts');
});
