// scripts/prepare-host.sh (run by setup.sh): on a fresh host the configured pools are
// missing; afterwards `host usage` reports each file pool ok and the catalogue exists.
// A configuration of the test's own, in a scratch directory, stands for /etc/hvagent.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { stdioRpc } from '../helpers/agent.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/prepare-host.sh', import.meta.url));
let dir: string;
let env: Record<string, string>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 't-prepare-'));
  const config = join(dir, 'hvagent.yaml');
  writeFileSync(
    config,
    ['storage:', '  pools:', `    vms: { plugin: qcow2, path: ${dir}/pools/vms }`, `    flat: { plugin: raw, path: ${dir}/pools/flat }`,
      `    ct: { plugin: dir, path: ${dir}/pools/ct }`, '    vg: { plugin: lvm, volume_group: t-vg-none }', 'templates:', `  catalogue: ${dir}/templates`, ''].join('\n'),
  );
  env = { HVAGENT_CONFIG: config };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const poolStatus = async () =>
  Object.fromEntries(((await stdioRpc({ agent: 'host', action: 'usage', data: {} }, env)).data.storage_pools as Array<{ name: string; status: string }>).map((pool) => [pool.name, pool.status]));

test('makes the directories of the file pools and of the catalogue, and nothing for an LVM pool; a second run changes nothing', async () => {
  expect(await poolStatus()).toMatchObject({ vms: 'missing', flat: 'missing', ct: 'missing' });
  const first = await execa(SCRIPT, [], { env: { ...env, PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: '/' });
  expect(first.stdout.split('\n').sort()).toEqual([`${dir}/pools/ct`, `${dir}/pools/flat`, `${dir}/pools/vms`, `${dir}/templates`].map((path) => `[prepare-host] made ${path}`));
  expect(await poolStatus()).toMatchObject({ vms: 'ok', flat: 'ok', ct: 'ok' });
  expect(statSync(`${dir}/pools/vms`).mode & 0o777).toBe(0o711);
  expect(statSync(`${dir}/templates`).isDirectory()).toBe(true);
  expect((await stdioRpc({ agent: 'template', action: 'list', data: {} }, env)).data).toMatchObject({ count: 0, catalogue: `${dir}/templates` });

  const again = await execa(SCRIPT, [], { env: { ...env, PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: '/' });
  expect(again.stdout).toBe('');
});
