import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildTestTemplates, makeSandbox, type Sandbox } from '../provisioning/helpers.js';
import { READY, waitForSerial } from '../vm/helpers.js';
import { startHvagentFleet, type Fleet } from './fleet.js';

// One-request provisioning through a real MCollective 2.12 fleet: `mco rpc vm create …
// template=image:tiny` sent to one identity clones the template onto a volume of its pool,
// defines and starts the guest, which boots from that disk; `vm delete remove_volumes=true`
// removes it all. The servers run hvagent with the test's configuration (pools and the
// catalogue of test templates), passed down through their environment.

const URI = 'qemu:///system';
const CONSOLE_LOG_DIR = '/var/log/hvagent/console';
const VM = `fleet-prov-${process.pid}-${Date.now().toString(36)}`;
const BOOT_TIMEOUT_MS = 180_000;

let fleet: Fleet;
let box: Sandbox;

beforeAll(async () => {
  await buildTestTemplates();
  box = makeSandbox();
  fleet = await startHvagentFleet({ env: box.env });
});

afterAll(async () => {
  await execa('virsh', ['-c', URI, 'destroy', VM], { reject: false });
  await execa('virsh', ['-c', URI, 'undefine', VM, '--managed-save', '--snapshots-metadata'], { reject: false });
  rmSync(join(CONSOLE_LOG_DIR, `${VM}.log`), { force: true });
  await fleet?.stop();
  await box?.remove();
});

test('mco rpc vm create template=image:tiny provisions and boots a guest on the one host it is sent to', async () => {
  const created = await fleet.mco(['rpc', 'vm', 'create', `name=${VM}`, 'vm_class=qemu', 'template=image:tiny', 'pool=vms', 'memory_mb=192', 'start=true', '-I', 'hv1', '--json']);
  expect(created.exitCode).toBe(0);
  expect(created.json).toEqual([
    expect.objectContaining({ sender: 'hv1', statuscode: 0, data: expect.objectContaining({ name: VM, changed: true, state: 'running', template: 'image:tiny' }) }),
  ]);
  const volume = (created.json![0]!.data.volumes as Array<{ path: string; pool: string }>)[0]!;
  expect(volume.pool).toBe('vms');
  expect(volume.path.startsWith(box.pools.vms)).toBe(true);
  await waitForSerial(VM, READY, 1, BOOT_TIMEOUT_MS);

  const text = await fleet.mco(['rpc', 'vm', 'delete', `name=${VM}`, 'force=true', 'remove_volumes=true', '-I', 'hv1']);
  expect(text.exitCode).toBe(0);
  expect(text.stdout).toContain('Summary of Changed:');
  expect(text.stdout).toMatch(/true = 1/);
  expect(existsSync(volume.path)).toBe(false);
  expect(box.leftovers()).toEqual([]);
});
