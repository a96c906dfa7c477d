// One bad catalogue entry disables only itself: a guest is still provisioned from a good
// template of the same catalogue, through the agent, on the real libvirtd.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stdioRpc } from '../helpers/agent.js';
import { buildTestTemplates, CATALOGUE } from '../provisioning/helpers.js';

const URI = 'qemu:///system';
const token = randomBytes(4).toString('hex');
const root = `/var/lib/hvagent/t-limits-${token}`;
const name = `limits-unusable-${token}`;
const env = { HVAGENT_CONFIG: join(root, 'hvagent.yaml') };

beforeAll(async () => {
  await buildTestTemplates();
  const catalogue = join(root, 'catalogue');
  mkdirSync(join(root, 'vms'), { recursive: true });
  mkdirSync(catalogue);
  copyFileSync(join(CATALOGUE, 'images', 'tiny.qcow2'), join(catalogue, 'tiny.qcow2'));
  writeFileSync(
    join(catalogue, 'catalogue.yaml'),
    [
      'version: 1',
      'templates:',
      '  - {name: broken, type: image, description: names a file that is not there, file: missing.qcow2, format: qcow2}',
      '  - {name: tiny, type: image, description: good, file: tiny.qcow2, format: qcow2}',
      '  - {name: tiny, type: lxc, description: d, archive: tiny.zip}',
      '',
    ].join('\n'),
  );
  writeFileSync(env.HVAGENT_CONFIG, `storage:\n  pools:\n    vms: { plugin: qcow2, path: ${join(root, 'vms')} }\ntemplates:\n  catalogue: ${catalogue}\n`);
});

afterAll(async () => {
  await execa('virsh', ['-c', URI, 'undefine', name], { reject: false });
  rmSync(root, { recursive: true, force: true });
});

test('vm create from the good template works while two other entries are unusable', async () => {
  const listed = await stdioRpc({ agent: 'template', action: 'list', data: {} }, env);
  expect(listed.data).toMatchObject({ count: 1, templates: [{ ref: 'image:tiny' }] });
  expect((listed.data.unusable as Array<{ ref: string }>).map((entry) => entry.ref)).toEqual(['image:broken', 'lxc:tiny']);

  const created = await stdioRpc({ agent: 'vm', action: 'create', data: { name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', memory_mb: 64, start: false } }, env);
  expect(created).toMatchObject({ statuscode: 0, data: { name, changed: true, template: 'image:tiny' } });
  const state = await execa('virsh', ['-c', URI, 'domstate', name]);
  expect(String(state.stdout).trim()).toBe('shut off');

  const refused = await stdioRpc({ agent: 'vm', action: 'create', data: { name: `${name}-b`, vm_class: 'qemu', template: 'image:broken', pool: 'vms', memory_mb: 64, start: false } }, env);
  expect(refused).toMatchObject({ statuscode: 5, data: { error_code: 'CONFIG_INVALID' } });
  expect(refused.statusmsg).toContain("'missing.qcow2' does not exist");

  const deleted = await stdioRpc({ agent: 'vm', action: 'delete', data: { name, remove_volumes: true } }, env);
  expect(deleted).toMatchObject({ statuscode: 0, data: { changed: true } });
});
