// The Debian 12 cloud image of scripts/cloud-image.sh really boots to an ssh login: a qcow2
// thin clone, a NoCloud seed (ISO 9660, volume id cidata) on a virtio-scsi CD-ROM, a q35 TCG
// domain defined by hand on the default NAT network. The test waits on what the guest does:
// cloud-init's final line on the serial console, the DHCP lease, an ssh login with the key.
// Debian's cloud kernel has no AHCI driver, so a seed on q35's SATA bus would be invisible.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { cloudImage, sshKeyPair, sshRun, CLOUD_USER, type SshKeyPair } from '../helpers/cloud-image.js';
import { domstate, serialLog, serialLogPath, virsh, waitFor, QEMU_URI } from '../vm/helpers.js';
import { finishedLine } from './helpers.js';

/** TCG boots this image to a login in about 2 minutes on these machines; allow 8. */
const BOOT_MS = 8 * 60_000;

const tag = randomBytes(4).toString('hex');
const name = `ci-img-${tag}`;
const hostname = `ci-host-${tag}`;
// A locally administered MAC of QEMU's prefix, so the lease is surely this guest's.
const mac = `52:54:00:${[...randomBytes(3)].map((byte) => byte.toString(16).padStart(2, '0')).join(':')}`;
let dir: string | undefined;
let key: SshKeyPair | undefined;

function domainXml(disk: string, seed: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='${seed}'/>
      <target dev='sda' bus='scsi'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='${mac}'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <log file='${serialLogPath(name)}' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>
`;
}

/** The address `virsh net-dhcp-leases default` gives this guest's MAC, if any yet. */
async function leasedAddress(): Promise<string | undefined> {
  const out = await virsh(QEMU_URI, ['net-dhcp-leases', 'default', '--mac', mac]);
  const line = out.split('\n').find((row) => row.includes(mac) && row.includes('ipv4'));
  return line ? /\s(\d+\.\d+\.\d+\.\d+)\/\d+\s/.exec(line)?.[1] : undefined;
}

/** A wait that failed says what the guest printed last. */
async function withSerialTail<T>(wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (error) {
    const tail = serialLog(name).split('\n').slice(-25).join('\n');
    throw new Error(`${(error as Error).message}\nstate: ${await domstate(name).catch(String)}\nserial log tail:\n${tail}`);
  }
}

afterAll(async () => {
  if ((await domstate(name).catch(() => 'absent')) !== 'absent') {
    await execa('virsh', ['-c', QEMU_URI, 'destroy', name], { reject: false });
    await execa('virsh', ['-c', QEMU_URI, 'undefine', name], { reject: false });
  }
  rmSync(serialLogPath(name), { force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (key) rmSync(key.dir, { recursive: true, force: true });
});

test('the Debian 12 cloud image boots on q35 under TCG to an ssh login set up by cloud-init from a virtio-scsi NoCloud seed', async () => {
  const image = cloudImage();
  key = await sshKeyPair(`hvagent-test-${tag}`);
  dir = mkdtempSync(join(tmpdir(), 'hvagent-ci-img-'));
  chmodSync(dir, 0o755); // QEMU runs as libvirt-qemu
  const disk = join(dir, 'disk.qcow2');
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image, '-F', 'qcow2', disk]);
  writeFileSync(join(dir, 'meta-data'), `instance-id: iid-${name}\nlocal-hostname: ${hostname}\n`);
  writeFileSync(join(dir, 'user-data'), `#cloud-config\nhostname: ${hostname}\nssh_authorized_keys:\n  - ${key.publicKey}\n`);
  const seed = join(dir, 'seed.iso');
  await execa('genisoimage', ['-quiet', '-output', seed, '-volid', 'cidata', '-joliet', '-rock',
    join(dir, 'user-data'), join(dir, 'meta-data')]);
  mkdirSync(dirname(serialLogPath(name)), { recursive: true });
  writeFileSync(join(dir, 'domain.xml'), domainXml(disk, seed));
  await virsh(QEMU_URI, ['define', join(dir, 'domain.xml')]);
  await virsh(QEMU_URI, ['start', name]);

  // cloud-init ran every stage and took its data from the seed CD-ROM.
  const finished = await withSerialTail(finishedLine(name, BOOT_MS));
  expect(finished).toMatch(/Cloud-init v\. \S+ finished at .*Datasource DataSourceNoCloud \[seed=\/dev\/sr0\]/);

  // The guest asked dnsmasq on `default` for an address, under the requested hostname.
  const ip = await withSerialTail(waitFor(leasedAddress, `a DHCP lease for ${mac} on network default`, BOOT_MS));
  const lease = (await virsh(QEMU_URI, ['net-dhcp-leases', 'default', '--mac', mac])).split('\n').find((row) => row.includes(ip));
  expect(lease).toContain(hostname);

  // ssh logs in with the key from the seed; the guest is what the seed asked for.
  const login = await withSerialTail(sshRun(ip, key.privateKey, ['hostname'], { timeoutMs: BOOT_MS }));
  expect(login.stdout.trim()).toBe(hostname);
  const keys = await sshRun(ip, key.privateKey, ['cat', `/home/${CLOUD_USER}/.ssh/authorized_keys`]);
  expect(keys.stdout.split('\n').map((line) => line.trim())).toContain(key.publicKey);
  const addresses = await sshRun(ip, key.privateKey, ['ip', '-4', '-o', 'address', 'show', 'scope', 'global']);
  expect(addresses.stdout).toContain(` ${ip}/`);
  const links = await sshRun(ip, key.privateKey, ['ip', '-o', 'link', 'show']);
  expect(links.stdout).toContain(`link/ether ${mac} `);
}, BOOT_MS * 2 + 60_000);
