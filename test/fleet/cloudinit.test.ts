// Provisioning with cloud-init through a real MCollective 2.12 fleet: `mco rpc vm create`
// sent to one identity, with an SSH key and a static IPv4 address on a NAT network of the
// test's own, gives a Debian 12 guest (the real cloud image of scripts/cloud-image.sh) that
// ssh logs into at that address. Fleet callers read the serial log with vm console_log;
// vm console, which needs a terminal at the host, is refused over MCollective.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { sshKeyPair, sshRun, CLOUD_USER, type SshKeyPair } from '../helpers/cloud-image.js';
import { cleanupNetworks, createNetwork, leases, type TestNetwork } from '../network/helpers.js';
import { CLOUD_INIT_FINISHED, explainedWait, makeCloudSandbox, type CloudSandbox } from '../cloudinit/helpers.js';
import { waitForSerial } from '../vm/helpers.js';
import { startHvagentFleet, type Fleet } from './fleet.js';

const URI = 'qemu:///system';
const CONSOLE_LOG_DIR = '/var/log/hvagent/console';
const VM = `fleet-ci-${process.pid}-${Date.now().toString(36)}`;
/** TCG boots the image to a login in about 2 minutes on these machines; allow 8. */
const BOOT_MS = 8 * 60_000;

let fleet: Fleet;
let box: CloudSandbox;
let key: SshKeyPair;
let network: TestNetwork;

beforeAll(async () => {
  box = makeCloudSandbox();
  [fleet, key, network] = await Promise.all([startHvagentFleet({ env: box.cloudEnv }), sshKeyPair('t-fleet-cloudinit'), createNetwork('nat')]);
});

afterAll(async () => {
  await execa('virsh', ['-c', URI, 'destroy', VM], { reject: false });
  await execa('virsh', ['-c', URI, 'undefine', VM, '--managed-save', '--snapshots-metadata'], { reject: false });
  rmSync(join(CONSOLE_LOG_DIR, `${VM}.log`), { force: true });
  await fleet?.stop();
  await cleanupNetworks();
  await box?.remove();
  if (key) rmSync(key.dir, { recursive: true, force: true });
});

test('mco rpc vm create with an SSH key and a static address: ssh logs in there; console_log reads the boot; console is refused', async () => {
  const address = `${network.prefix}.20`;
  const created = await fleet.mco([
    'rpc', 'vm', 'create', `name=${VM}`, 'vm_class=qemu', 'template=image:debian12', 'pool=vms', 'memory_mb=1024', 'vcpus=2',
    `network=${network.name}`, `ipv4=${address}/24@${network.prefix}.1`, `dns=${network.prefix}.1`, `ssh_authorized_keys=${key.publicKey}`, 'start=true',
    '-I', 'hv1', '--json',
  ]);
  expect(created.exitCode).toBe(0);
  expect(created.json).toEqual([expect.objectContaining({ sender: 'hv1', statuscode: 0, data: expect.objectContaining({ name: VM, state: 'running', template: 'image:debian12' }) })]);
  const data = created.json![0]!.data;
  expect((data.volumes as Array<{ name: string }>).map((volume) => volume.name)).toEqual([`${VM}-root`, `${VM}-cidata`]);
  const mac = (data.nics as Array<{ mac: string }>)[0]!.mac;

  await explainedWait(VM, waitForSerial(VM, CLOUD_INIT_FINISHED, 1, BOOT_MS));
  const login = await explainedWait(VM, sshRun(address, key.privateKey, ['hostname'], { timeoutMs: BOOT_MS }));
  expect(login.stdout.trim()).toBe(VM); // no host name given: the VM's name
  const authorized = await sshRun(address, key.privateKey, ['cat', `/home/${CLOUD_USER}/.ssh/authorized_keys`]);
  expect(authorized.stdout.split('\n').map((line) => line.trim())).toContain(key.publicKey);
  const escaped = address.replaceAll('.', '\\.');
  expect((await sshRun(address, key.privateKey, ['ip', '-4', '-o', 'address', 'show', 'dev', 'eth0'])).stdout).toMatch(new RegExp(` ${escaped}/24 .*scope global eth0`));
  expect((await sshRun(address, key.privateKey, ['ip', '-4', 'route', 'show', 'default'])).stdout).toContain(`default via ${network.prefix}.1 dev eth0`);
  expect((await sshRun(address, key.privateKey, ['cat', '/sys/class/net/eth0/address'])).stdout.trim()).toBe(mac);
  // cloud-init's ifupdown renderer hands the nameservers to resolvconf, which this minimal
  // image does not have: its configuration says them (docs/CLOUD-INIT.md).
  expect((await sshRun(address, key.privateKey, ['cat', '/etc/network/interfaces.d/50-cloud-init'])).stdout).toMatch(new RegExp(`iface eth0 inet static[\\s\\S]*dns-nameservers ${network.prefix}\\.1`));
  expect((await leases(network.name)).has(mac)).toBe(false); // it asked no DHCP server

  const log = await fleet.mco(['rpc', 'vm', 'console_log', `name=${VM}`, 'lines=400', '-I', 'hv1', '--json']);
  expect(log.json).toEqual([expect.objectContaining({ statuscode: 0, data: expect.objectContaining({ console_log: join(CONSOLE_LOG_DIR, `${VM}.log`) }) })]);
  expect(String(log.json![0]!.data.log)).toMatch(/Cloud-init v\. \S+ finished at .*DataSourceNoCloud \[seed=\/dev\/sr0\]/);

  const attach = await fleet.mco(['rpc', 'vm', 'console', `name=${VM}`, '-I', 'hv1', '--json']);
  expect(attach.json).toEqual([expect.objectContaining({ statuscode: 1, statusmsg: expect.stringContaining('cannot run over mcollective') })]);

  // The key went through the fleet; hvagent wrote it to no job record.
  const jobs = readdirSync('/run/hvagent/jobs').map((file) => readFileSync(join('/run/hvagent/jobs', file), 'utf8')).filter((text) => text.includes(VM));
  expect(jobs.length).toBeGreaterThan(0);
  for (const job of jobs) expect(job).not.toContain(key.publicKey.split(' ')[1]);

  const deleted = await fleet.mco(['rpc', 'vm', 'delete', `name=${VM}`, 'force=true', 'remove_volumes=true', '-I', 'hv1', '--json']);
  expect(deleted.json).toEqual([expect.objectContaining({ statuscode: 0, data: expect.objectContaining({ removed_volumes: [`vms/${VM}-root`, `vms/${VM}-cidata`] }) })]);
  expect(box.leftovers()).toEqual([]);
}, 3 * BOOT_MS);
