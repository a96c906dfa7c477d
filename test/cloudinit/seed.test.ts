// What vm create gives a guest for its first boot, read back from the real artefacts: the
// NoCloud seed volume (an ISO 9660 image labelled cidata, read with isoinfo, never
// mounted) on a virtio-scsi CD-ROM of the defined domain, the files in a container's root,
// the job record and the reply (no key, no user data in either). Bad input is refused
// naming the input and leaves nothing behind. No guest needs to boot here: the real boots
// are in provision.test.ts.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { stdioRpc } from '../helpers/agent.js';
import { sshKeyPair, type SshKeyPair } from '../helpers/cloud-image.js';
import { buildTestTemplates } from '../provisioning/helpers.js';
import { cleanup, domstate, LXC_URI, newVmName, QEMU_URI, virsh } from '../vm/helpers.js';
import { isoFile, isoNames, isoVolumeId, makeCloudSandbox, type CloudSandbox } from './helpers.js';

const JOBS_DIR = '/run/hvagent/jobs';
/** Stands for a password in user data: it must never come back out. */
const SECRET = `t-secret-${process.pid}-${Date.now().toString(36)}`;
const USER_DATA = `#cloud-config\n# site defaults\nchpasswd:\n  expire: false\n  users:\n    - { name: debian, password: ${SECRET}, type: text }\nruncmd:\n  - [touch, /root/seeded]\n`;

let box: CloudSandbox;
let key: SshKeyPair;
let other: SshKeyPair;

beforeAll(async () => {
  await buildTestTemplates();
  box = makeCloudSandbox();
  [key, other] = await Promise.all([sshKeyPair('t-seed-key'), sshKeyPair('t-seed-other')]);
});

afterAll(async () => {
  await cleanup();
  await box?.remove();
  for (const pair of [key, other]) if (pair) rmSync(pair.dir, { recursive: true, force: true });
});

const keyBody = (pair: SshKeyPair) => pair.publicKey.split(' ')[1]!;

describe('a QEMU guest', () => {
  test('gets a cidata seed volume of its pool on a read-only virtio-scsi CD-ROM, holding meta-data, user-data and network-config', async () => {
    const name = newVmName();
    const requestid = `t-seed-${name}`;
    const created = await stdioRpc({
      agent: 'vm',
      action: 'create',
      requestid,
      data: {
        name,
        vm_class: 'qemu',
        template: 'image:tiny',
        pool: 'flat',
        memory_mb: 192,
        network: 'default',
        hostname: 'web01.example.test',
        ssh_authorized_keys: `${key.publicKey}\n\n${other.publicKey}\n`,
        user_data: USER_DATA,
        ipv4: '192.168.122.250/24@192.168.122.1',
        dns: '192.168.122.1,2001:db8::53',
      },
    }, box.env);
    expect(created).toMatchObject({ statuscode: 0, data: { name, changed: true, state: 'shutoff' } });
    const volumes = created.data.volumes as Array<Record<string, string>>;
    expect(volumes.map((volume) => volume.name)).toEqual([`${name}-root`, `${name}-cidata`]);
    const seed = volumes[1]!;
    expect(seed).toMatchObject({ pool: 'flat', plugin: 'raw', format: 'raw', path: join(box.pools.flat, `${name}-cidata`) });
    expect(statSync(seed.path!).mode & 0o777).toBe(0o600); // the user data may hold secrets

    expect(await isoVolumeId(seed.path!)).toBe('cidata');
    expect(await isoNames(seed.path!)).toEqual(['meta-data', 'network-config', 'user-data']);

    const info = await box.rpc('vm', 'info', { name });
    const instanceId = (info.data.metadata as Record<string, string>).instance_id;
    expect(instanceId).toMatch(/^iid-[0-9a-f-]{36}$/);
    expect(parse(await isoFile(seed.path!, 'meta-data'))).toEqual({ 'instance-id': instanceId, 'local-hostname': 'web01.example.test' });

    const userData = await isoFile(seed.path!, 'user-data');
    expect(userData.split('\n')[0]).toBe('#cloud-config');
    expect(userData).toContain('# site defaults');
    const hostKeys = created.data.ssh_host_keys as Array<{ type: string; public_key: string }>;
    expect(parse(userData)).toEqual({
      chpasswd: { expire: false, users: [{ name: 'debian', password: SECRET, type: 'text' }] },
      runcmd: [['touch', '/root/seeded']],
      ssh_authorized_keys: [key.publicKey, other.publicKey],
      // The host keys made on the host (host-keys.test.ts checks them further).
      ssh_keys: {
        ed25519_private: expect.stringContaining('-----BEGIN OPENSSH PRIVATE KEY-----'),
        ed25519_public: hostKeys[0]!.public_key,
        ecdsa_private: expect.stringContaining('-----BEGIN OPENSSH PRIVATE KEY-----'),
        ecdsa_public: hostKeys[1]!.public_key,
      },
    });

    const mac = (created.data.nics as Array<{ mac: string }>)[0]!.mac;
    expect(parse(await isoFile(seed.path!, 'network-config'))).toEqual({
      version: 2,
      ethernets: {
        eth0: {
          match: { macaddress: mac },
          'set-name': 'eth0',
          dhcp4: false,
          addresses: ['192.168.122.250/24'],
          gateway4: '192.168.122.1',
          nameservers: { addresses: ['192.168.122.1', '2001:db8::53'] },
        },
      },
    });

    // The CD-ROM, as libvirt has it: SCSI bus on a virtio-scsi controller, read-only.
    const xml = await virsh(QEMU_URI, ['dumpxml', '--inactive', name]);
    expect(xml).toMatch(new RegExp(`<disk type='file' device='cdrom'>\\s*<driver name='qemu' type='raw'/>\\s*<source file='${seed.path}'/>\\s*<target dev='sda' bus='scsi'/>\\s*<readonly/>`));
    expect(xml).toMatch(/<controller type='scsi' index='0' model='virtio-scsi'>/);
    expect(xml).toContain("name='org.qemu.guest_agent.0'");
    expect(xml).not.toContain(SECRET);
    expect(xml).not.toContain(keyBody(key));

    // Neither the reply nor the job record holds the keys or the user data.
    const job = readFileSync(join(JOBS_DIR, `${requestid}.json`), 'utf8');
    expect(JSON.parse(job)).toMatchObject({ job_id: requestid, state: 'succeeded', target: name });
    for (const text of [JSON.stringify(created), JSON.stringify(info), job]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(keyBody(key));
      expect(text).not.toContain(keyBody(other));
      expect(text).not.toContain('chpasswd');
    }

    expect((await box.rpc('volume', 'list', { pool: 'flat' })).data.volumes).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: `${name}-cidata`, used_by: [name] })]),
    );
    const deleted = await box.rpc('vm', 'delete', { name, remove_volumes: true });
    expect(deleted.data.removed_volumes).toEqual([`flat/${name}-root`, `flat/${name}-cidata`]);
    expect(box.leftovers()).toEqual([]);
  });
});

test('the instance-id is new for each provision of the same VM name', async () => {
  const name = newVmName();
  const ids: string[] = [];
  for (let round = 0; round < 2; round += 1) {
    const created = await box.rpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'flat', memory_mb: 192, hostname: 'again' });
    expect(created.statuscode).toBe(0);
    const seed = (created.data.volumes as Array<{ path: string }>)[1]!.path;
    ids.push(String(parse(await isoFile(seed, 'meta-data'))['instance-id']));
    expect((await box.rpc('vm', 'delete', { name, remove_volumes: true })).statuscode).toBe(0);
  }
  expect(ids[0]).toMatch(/^iid-/);
  expect(ids[1]).toMatch(/^iid-/);
  expect(ids[0]).not.toBe(ids[1]);
  expect(box.leftovers()).toEqual([]);
});

describe('an LXC container', () => {
  test("gets the seed files in its new root's /var/lib/cloud/seed/nocloud, and runs", async () => {
    const name = newVmName();
    const created = await box.rpc('vm', 'create', {
      name,
      vm_class: 'lxc',
      template: 'lxc:busybox',
      pool: 'ct',
      memory_mb: 128,
      network: 'default',
      start: true,
      ssh_authorized_keys: key.publicKey,
      user_data: USER_DATA,
      ipv4: '192.168.122.251/24@192.168.122.1',
    });
    expect(created).toMatchObject({ statuscode: 0, data: { state: 'running' } });
    const volumes = created.data.volumes as Array<{ name: string; path: string }>;
    expect(volumes.map((volume) => volume.name)).toEqual([`${name}-root`]); // no seed volume: the files are in the root
    const seed = join(volumes[0]!.path, 'var', 'lib', 'cloud', 'seed', 'nocloud');
    const mode = (file: string) => statSync(join(seed, file)).mode & 0o777;
    expect(mode('user-data')).toBe(0o600);
    expect(mode('meta-data')).toBe(0o644);

    const info = await box.rpc('vm', 'info', { name });
    expect(parse(readFileSync(join(seed, 'meta-data'), 'utf8'))).toEqual({
      'instance-id': (info.data.metadata as Record<string, string>).instance_id,
      'local-hostname': name, // no hostname given: the VM's name
    });
    expect(parse(readFileSync(join(seed, 'user-data'), 'utf8'))).toMatchObject({ ssh_authorized_keys: [key.publicKey], runcmd: [['touch', '/root/seeded']] });
    const mac = (created.data.nics as Array<{ mac: string }>)[0]!.mac;
    expect(parse(readFileSync(join(seed, 'network-config'), 'utf8'))).toEqual({
      version: 2,
      ethernets: { eth0: { match: { macaddress: mac }, 'set-name': 'eth0', dhcp4: false, addresses: ['192.168.122.251/24'], gateway4: '192.168.122.1' } },
    });
    expect(await domstate(name, LXC_URI)).toBe('running');
    expect(JSON.stringify(created)).not.toContain(SECRET);

    expect((await box.rpc('vm', 'delete', { name, force: true, remove_volumes: true })).statuscode).toBe(0);
    expect(box.leftovers()).toEqual([]);
  });

  test('given its root by path, it cannot be given cloud-init data: refused, nothing made', async () => {
    const name = newVmName();
    const refused = await box.rpc('vm', 'create', { name, vm_class: 'lxc', rootfs: '/var/lib/hvagent/test-assets/ct-rootfs', hostname: 'ct' });
    expect(refused).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(refused.statusmsg).toMatch(/^Input 'hostname': a container's cloud-init data is written into the root volume this request makes/);
    expect(await domstate(name, LXC_URI)).toBe('absent');
  });
});

describe('bad input is refused naming the input, and leaves nothing behind', () => {
  const base = () => ({ name: newVmName(), vm_class: 'qemu', template: 'image:tiny', pool: 'flat', memory_mb: 192, network: 'default' });

  test.each([
    ['a private key', () => ({ ssh_authorized_keys: `-----BEGIN OPENSSH ${'PRIVATE'} KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA${SECRET}\n-----END OPENSSH ${'PRIVATE'} KEY-----` }), 'ssh_authorized_keys', /private key/],
    ['a key that is not one', () => ({ ssh_authorized_keys: `ssh-ed25519 ${keyBody(other).slice(0, 30)}${SECRET.replace(/-/g, '')}` }), 'ssh_authorized_keys', /line 1/],
    ['a key of another type than it says', () => ({ ssh_authorized_keys: `ssh-rsa ${keyBody(key)} ${SECRET}` }), 'ssh_authorized_keys', /says it is ssh-rsa/],
    ['malformed YAML', () => ({ user_data: `#cloud-config\npassword: ${SECRET}\nruncmd: [ ls\n` }), 'user_data', /not valid YAML: line \d+, column \d+/],
    ['user data that is not cloud-config', () => ({ user_data: `#!/bin/sh\necho ${SECRET}\n` }), 'user_data', /cloud-config/],
    ['a hostname that differs from the user data', () => ({ hostname: 'one', user_data: `#cloud-config\nhostname: two\npassword: ${SECRET}\n` }), 'hostname', /differ/],
    ['a bad host name', () => ({ hostname: 'bad_name' }), 'hostname', /does not match/],
    ['more IPv4 entries than NICs', () => ({ ipv4: 'dhcp,dhcp' }), 'ipv4', /2 entries for 1 NICs/],
    ['a malformed IPv4 entry', () => ({ ipv4: '192.168.122.40' }), 'ipv4', /is none of dhcp, dhcp:ADDRESS .* and ADDRESS\/PREFIX/],
    ['a static address outside its network', () => ({ ipv4: '10.99.77.5/24' }), 'ipv4', /outside network 'default' \(192\.168\.122\.0\/24\)/],
    ['nameservers with no static NIC', () => ({ dns: '192.168.122.1' }), 'dns', /for static NICs/],
    ['a bad nameserver', () => ({ ipv4: '192.168.122.40/24', dns: '192.168.122' }), 'dns', /not an IPv4 or IPv6 address/],
  ])('%s', async (_what, extra, input, message) => {
    const request = { ...base(), ...extra() };
    const requestid = `t-bad-${request.name}`;
    const refused = await stdioRpc({ agent: 'vm', action: 'create', requestid, data: request }, box.env);
    expect(refused).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(refused.statusmsg).toContain(`Input '${input}'`);
    expect(refused.statusmsg).toMatch(message);
    expect(JSON.stringify(refused)).not.toContain(SECRET);
    const job = join(JOBS_DIR, `${requestid}.json`);
    if (existsSync(job)) expect(readFileSync(job, 'utf8')).not.toContain(SECRET);
    expect(await domstate(request.name)).toBe('absent');
    expect(box.leftovers()).toEqual([]);
  });

  test('a disk too small for the image', async () => {
    const name = newVmName();
    const refused = await box.cloudRpc('vm', 'create', { name, vm_class: 'qemu', template: 'image:debian12', pool: 'vms', disk_size_mb: 1024, ssh_authorized_keys: key.publicKey });
    expect(refused).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(refused.statusmsg).toBe("Input 'disk_size_mb': image:debian12 needs at least 2048 MiB");
    expect(await domstate(name)).toBe('absent');
    expect(box.leftovers()).toEqual([]);
  });

  test('a failure after the seed is made removes it, and the job record of the failure holds no secret', async () => {
    const name = newVmName();
    const requestid = `t-fail-${name}`;
    const failed = await stdioRpc(
      { agent: 'vm', action: 'create', requestid, data: { ...base(), name, ssh_authorized_keys: key.publicKey, user_data: USER_DATA } },
      { ...box.env, HVAGENT_TEST_FAIL_AFTER: 'seed' },
    );
    expect(failed).toMatchObject({ statuscode: 5, data: { error_code: 'INTERNAL' } });
    expect(failed.statusmsg).toContain("after step 'seed'");
    const job = readFileSync(join(JOBS_DIR, `${requestid}.json`), 'utf8');
    expect(JSON.parse(job)).toMatchObject({ state: 'failed', error_code: 'INTERNAL' });
    for (const text of [job, JSON.stringify(failed)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(keyBody(key));
    }
    expect(await domstate(name)).toBe('absent');
    expect(box.leftovers()).toEqual([]);
  });
});
