import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { importSandbox, run, sha256Of, startServer, TINY, type ImportSandbox, type TestServer } from '../templates/import-helpers.js';
import { buildTestTemplates } from '../provisioning/helpers.js';
import { READY, waitForSerial } from '../vm/helpers.js';
import { startHvagentFleet, type Fleet } from './fleet.js';

// `mco rpc template import` through a real MCollective 2.12 fleet: hv1 and hv2 each have
// their own configuration (catalogue, pool: HVAGENT_CONFIG_PATTERN), and one request
// imports the same xz-compressed image, verified against its SHA-256, from an HTTP server on
// both. Sent again, it downloads nothing (the recorded checksum answers). hv2 then
// provisions a guest from it by its bare name, which boots; while it exists, hv2 refuses to
// delete the template and hv1 deletes its own.

const URI = 'qemu:///system';
const CONSOLE_LOG_DIR = '/var/log/hvagent/console';
const VM = `fleet-tmpl-${process.pid}-${Date.now().toString(36)}`;
const BOOT_TIMEOUT_MS = 180_000;

let fleet: Fleet;
let hosts: Record<'hv1' | 'hv2', ImportSandbox>;
let server: TestServer;
let xz: string;

beforeAll(async () => {
  await buildTestTemplates();
  hosts = { hv1: importSandbox(), hv2: importSandbox() };
  xz = join(hosts.hv1.importDir, 'tiny.qcow2.xz');
  await run('sh', ['-c', `xz -0 -T1 -c "$0" > "$1"`, TINY, xz]);
  server = await startServer();
  server.serve('/images/tiny.qcow2.xz', xz);
  // One configuration per host: each sandbox's hvagent.yaml, linked where the pattern finds it.
  const configs = join(hosts.hv1.root, 'per-host');
  await run('mkdir', ['-p', configs]);
  for (const [node, box] of Object.entries(hosts)) await run('ln', ['-s', box.config, join(configs, `${node}.yaml`)]);
  fleet = await startHvagentFleet({ env: { HVAGENT_CONFIG_PATTERN: join(configs, '{node}.yaml') } });
});

afterAll(async () => {
  await execa('virsh', ['-c', URI, 'destroy', VM], { reject: false });
  await execa('virsh', ['-c', URI, 'undefine', VM, '--managed-save', '--snapshots-metadata'], { reject: false });
  await execa('rm', ['-f', join(CONSOLE_LOG_DIR, `${VM}.log`)]);
  await fleet?.stop();
  await server?.close();
  for (const box of Object.values(hosts ?? {})) await box.remove();
});

test('one mco rpc template import puts the same verified image into every host catalogue', async () => {
  const sum = await sha256Of(xz);
  const args = ['rpc', 'template', 'import', 'ref=image:fleet', `source=${server.url('/images/tiny.qcow2.xz')}`, `sha256=${sum}`, '--nodes', fleet.nodesFile, '--json'];
  const imported = await fleet.mco(args);
  expect(imported.exitCode).toBe(0);
  expect(imported.json!.map((reply) => [reply.sender, reply.statuscode, reply.data.changed, reply.data.sha256])).toEqual([
    ['hv1', 0, true, sum],
    ['hv2', 0, true, sum],
  ]);
  const tinySum = await sha256Of(TINY);
  for (const reply of imported.json!) {
    const file = reply.data.file as string;
    expect(file.startsWith(`${hosts[reply.sender as 'hv1' | 'hv2'].catalogue}/images/`)).toBe(true);
    expect(await sha256Of(file)).toBe(tinySum);
  }

  const again = await fleet.mco(args);
  expect(again.json!.map((reply) => [reply.sender, reply.data.changed, reply.data.bytes_received])).toEqual([
    ['hv1', false, 0],
    ['hv2', false, 0],
  ]);
  // The aggregate summary MCollective prints for a person.
  const text = await fleet.mco(args.filter((arg) => arg !== '--json'));
  expect(text.stdout).toContain('Summary of Changed:');
  expect(text.stdout).toMatch(/false = 2/);
});

test('hv2 provisions from it by its bare name; its delete is refused while the VM exists, hv1 deletes its own', async () => {
  const created = await fleet.mco(['rpc', 'vm', 'create', `name=${VM}`, 'vm_class=qemu', 'template=fleet', `pool=${hosts.hv2.poolName}`, 'memory_mb=192', 'start=true', '-I', 'hv2', '--json']);
  expect(created.json).toEqual([expect.objectContaining({ sender: 'hv2', statuscode: 0, data: expect.objectContaining({ template: 'image:fleet', state: 'running' }) })]);
  await waitForSerial(VM, READY, 1, BOOT_TIMEOUT_MS);

  const deleted = await fleet.mco(['rpc', 'template', 'delete', 'ref=image:fleet', '--nodes', fleet.nodesFile, '--json']);
  const [hv1, hv2] = deleted.json!;
  expect(hv1).toMatchObject({ sender: 'hv1', statuscode: 0, data: { changed: true } });
  expect(existsSync((hv1!.data.removed_files as string[])[0]!)).toBe(false);
  expect(hv2).toMatchObject({ sender: 'hv2', statuscode: 1, data: { error_code: 'TEMPLATE_IN_USE' } });
  expect(hv2!.statusmsg).toContain(`VMs ${VM}`);

  expect((await fleet.mco(['rpc', 'vm', 'delete', `name=${VM}`, 'force=true', 'remove_volumes=true', '-I', 'hv2', '--json'])).json![0]!.statuscode).toBe(0);
  expect((await fleet.mco(['rpc', 'template', 'delete', 'ref=image:fleet', '-I', 'hv2', '--json'])).json![0]!.data).toMatchObject({ changed: true });
});
