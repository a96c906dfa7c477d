// From a cloud image to an ssh login in one request: the real Debian 12 cloud image of
// scripts/cloud-image.sh, provisioned by `vm create` with a host name, an SSH key and a
// NIC, boots under TCG; cloud-init reads hvagent's NoCloud seed from the virtio-scsi
// CD-ROM. The tests wait on what the guest does (the DHCP lease, an ssh login, cloud-init's
// final line on the serial console, qemu-guest-agent) and check what a person logging
// in would: the host name, the key, the address, the instance across a reboot. Every login
// checks the guest's host key strictly against a known_hosts file written from the reply
// alone (the keys hvagent made on the host): a guest with any other key fails it. The static
// variant runs through the real MCollective fleet (test/fleet/cloudinit.test.ts).
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshKeyPair, sshRun, CLOUD_USER, type SshKeyPair } from '../helpers/cloud-image.js';
import { cleanup, newVmName, serialCount, waitFor } from '../vm/helpers.js';
import { CLOUD_INIT_FINISHED, explainedWait, finishedLine, leasedAddress, makeCloudSandbox, type CloudSandbox } from './helpers.js';

/** TCG boots this image to a login in about 2 minutes on these machines; allow 8. */
const BOOT_MS = 8 * 60_000;
const GUEST = { vm_class: 'qemu', template: 'image:debian12', pool: 'vms', memory_mb: 1024, vcpus: 2, start: true };

let box: CloudSandbox;
let key: SshKeyPair;

beforeAll(async () => {
  box = makeCloudSandbox();
  key = await sshKeyPair('t-cloudinit-provision');
});

afterAll(async () => {
  await cleanup();
  await box?.remove();
  if (key) rmSync(key.dir, { recursive: true, force: true });
});

test('one DHCP NIC on the NAT network: ssh logs in with the key, as the host name asked for, at the leased address; a reboot keeps the instance', async () => {
  const name = newVmName();
  const hostname = `ci-${randomBytes(3).toString('hex')}`;
  const created = await box.cloudRpc('vm', 'create', { ...GUEST, name, network: 'default', hostname, ssh_authorized_keys: key.publicKey });
  expect(created).toMatchObject({ statuscode: 0, data: { name, state: 'running', template: 'image:debian12' } });
  expect((created.data.volumes as Array<{ name: string }>).map((volume) => volume.name)).toEqual([`${name}-root`, `${name}-cidata`]);
  const mac = (created.data.nics as Array<{ mac: string }>)[0]!.mac;
  const hostKeys = created.data.ssh_host_keys as Array<{ type: string; public_key: string }>;
  expect(hostKeys.map((hostKey) => hostKey.type)).toEqual(['ed25519', 'ecdsa']);
  const knownHosts = { file: join(key.dir, 'known_hosts'), alias: name };
  writeFileSync(knownHosts.file, String(created.data.known_hosts));
  const verified = { knownHosts };

  // The signals in the order the guest gives them, each with a bound of its own: the lease,
  // the login (sshd starts once cloud-init's init stage has written the key), then
  // cloud-init's final line, which comes one or two minutes after the login under load
  // (its config and final stages run after sshd is up).
  const ip = await explainedWait(name, waitFor(() => leasedAddress('default', mac), `a lease for ${mac} on default`, BOOT_MS));
  const login = await explainedWait(name, sshRun(ip, key.privateKey, ['hostname'], { timeoutMs: BOOT_MS, ...verified }));
  expect(login.stdout.trim()).toBe(hostname);

  // cloud-init ran every stage, its data from the seed CD-ROM (not only the datasource's name).
  expect(await explainedWait(name, finishedLine(name, BOOT_MS))).toMatch(/Cloud-init v\. \S+ finished at .*Datasource DataSourceNoCloud \[seed=\/dev\/sr0\]/);
  const authorized = await sshRun(ip, key.privateKey, ['cat', `/home/${CLOUD_USER}/.ssh/authorized_keys`], verified);
  expect(authorized.stdout.split('\n').map((line) => line.trim())).toContain(key.publicKey);
  expect((await sshRun(ip, key.privateKey, ['ip', '-4', '-o', 'address', 'show', 'dev', 'eth0'], verified)).stdout).toContain(` ${ip}/24 `);
  expect((await sshRun(ip, key.privateKey, ['cat', '/sys/class/net/eth0/address'], verified)).stdout.trim()).toBe(mac);
  // The guest holds exactly the keys it was given, and made none of its own (no RSA key).
  const guestKeys = await sshRun(ip, key.privateKey, ['sudo', '-n', 'sh', '-c', 'ls /etc/ssh/ssh_host_*; cat /etc/ssh/ssh_host_*_key.pub'], verified);
  expect(guestKeys.stdout.split('\n').filter((line) => line.startsWith('/')).sort()).toEqual(
    ['ecdsa', 'ed25519'].flatMap((type) => [`/etc/ssh/ssh_host_${type}_key`, `/etc/ssh/ssh_host_${type}_key.pub`]),
  );
  for (const hostKey of hostKeys) expect(guestKeys.stdout).toContain(hostKey.public_key);

  // The guest runs qemu-guest-agent on the channel hvagent gave it: vm info says so.
  const nic = await waitFor(async () => {
    const [first] = (await box.cloudRpc('vm', 'info', { name })).data.nics as Array<{ ipv4_addresses: Array<{ source: string }> }>;
    return first!.ipv4_addresses[0]?.source === 'guest_agent' ? first : undefined;
  }, 'qemu-guest-agent to answer for the guest', BOOT_MS);
  expect(nic.ipv4_addresses).toEqual([{ address: ip, prefix: 24, source: 'guest_agent' }]);

  // The instance is the one in the seed, and stays it across a reboot: cloud-init does not
  // take the guest for a new instance (its host keys stay: the strict login says so).
  const instanceId = ((await box.cloudRpc('vm', 'info', { name })).data.metadata as Record<string, string>).instance_id;
  const instance = async () => (await sshRun(ip, key.privateKey, ['cat', '/var/lib/cloud/data/instance-id'], { timeoutMs: BOOT_MS, ...verified })).stdout;
  const before = await instance();
  expect(before.split('\n')[0]).toBe(instanceId);
  expect((await box.cloudRpc('vm', 'reboot', { name })).statuscode).toBe(0);
  await explainedWait(name, waitFor(() => serialCount(name, CLOUD_INIT_FINISHED) >= 2 || undefined, 'cloud-init to finish a second boot', BOOT_MS));
  expect(await instance()).toBe(before);

  expect(await box.cloudRpc('vm', 'delete', { name, force: true, remove_volumes: true })).toMatchObject({ statuscode: 0, data: { removed_volumes: [`vms/${name}-root`, `vms/${name}-cidata`] } });
  expect(box.leftovers()).toEqual([]);
}, 4 * BOOT_MS);
