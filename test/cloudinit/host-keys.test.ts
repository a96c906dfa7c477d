// The guest's SSH host keys, made on the host by `vm create` and returned to the caller:
// read back from the real seed (the ISO's user-data, read with isoinfo; a container's seed
// files) and checked with OpenSSH's own tools, never with hvagent's code: `ssh-keygen -y`
// derives each public key from the private key the guest is given, `ssh-keygen -l` prints
// the fingerprint, `ssh-keygen -F` finds the known_hosts lines. The private keys must never
// come back out: not in the reply, vm info, the job record, the audit log, the agent's
// stderr, the domain XML, nor in a failed request's error; and no private directory stays
// behind. No guest boots here: provision.test.ts logs in with a known_hosts built from the reply.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { cli, type Reply } from '../helpers/agent.js';
import { sshKeyPair, type SshKeyPair } from '../helpers/cloud-image.js';
import { buildTestTemplates } from '../provisioning/helpers.js';
import { domstate, LXC_URI, QEMU_URI, virsh } from '../vm/helpers.js';
import { isoFile, makeCloudSandbox, type CloudSandbox } from './helpers.js';

const JOBS_DIR = '/run/hvagent/jobs';
const PRIVATE_MARK = 'PRIVATE KEY';
const tag = randomBytes(3).toString('hex');
const made = new Set<string>();
let count = 0;
let box: CloudSandbox;
let key: SshKeyPair;
let tmp: string;
let auditLog: string;
let env: Record<string, string>;
let offEnv: Record<string, string>;

/** A VM name of this suite (hk-), removed in afterAll whatever happens. */
function hkName(): string {
  count += 1;
  const name = `hk-${tag}-${count}`;
  made.add(name);
  return name;
}

interface Ran {
  reply: Reply;
  stderr: string;
}

async function rpc(agent: string, action: string, data: Record<string, unknown>, extra: { requestid?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  const ran = await cli(['rpc'], extra.env ?? env, JSON.stringify({ agent, action, data, ...(extra.requestid && { requestid: extra.requestid }) }));
  expect(ran.exitCode).toBe(0);
  return { reply: JSON.parse(ran.stdout) as Reply, stderr: ran.stderr };
}

interface ReplyHostKey {
  type: string;
  public_key: string;
  fingerprint: string;
}

const hostKeysOf = (reply: Reply) => reply.data.ssh_host_keys as ReplyHostKey[];
const seedOf = (reply: Reply) => (reply.data.volumes as Array<{ name: string; path: string }>).find((volume) => volume.name.endsWith('-cidata'))!.path;
const userDataOf = async (reply: Reply) => parse(await isoFile(seedOf(reply), 'user-data')) as Record<string, unknown>;

/** What OpenSSH says the public key of a private key file's text is (`TYPE BASE64`). */
async function publicOfPrivate(privateKey: string): Promise<string> {
  const file = join(key.dir, `derive-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, privateKey, { mode: 0o600 });
  try {
    return String((await execa('ssh-keygen', ['-y', '-f', file])).stdout).trim().split(' ').slice(0, 2).join(' ');
  } finally {
    rmSync(file, { force: true });
  }
}

/** `ssh-keygen -l` of a public key line: [bits, SHA256:…]. */
async function keygenFingerprint(publicKey: string): Promise<[number, string]> {
  const { stdout } = await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', '-'], { input: `${publicKey}\n` });
  const [bits = '', fingerprint = ''] = String(stdout).split(' ');
  return [Number(bits), fingerprint];
}

/**
 * The base64 lines of each private key file that hold its secret (ed25519's seed, ECDSA's
 * d, RSA's d, p and q), found by reading the openssh-key-v1 format (PROTOCOL.key). The other
 * lines hold the public key, which the reply carries on purpose.
 */
function secretLines(sshKeys: Record<string, string>): string[] {
  return Object.entries(sshKeys)
    .filter(([name]) => name.endsWith('_private'))
    .flatMap(([, text]) => {
      const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
      const blob = Buffer.from(lines.join(''), 'base64');
      let offset = 'openssh-key-v1\0'.length;
      const field = () => {
        const start = offset + 4;
        offset = start + blob.readUInt32BE(offset);
        return { start, end: offset };
      };
      field(), field(), field(); // cipher, kdf, kdf options
      offset += 4; // number of keys
      field(); // the public key
      offset = field().start + 8; // the private section, after its two check integers
      const type = blob.subarray(field().start, offset).toString();
      const secrets: Array<{ start: number; end: number }> = [];
      if (type === 'ssh-ed25519') {
        field();
        const both = field();
        secrets.push({ start: both.start, end: both.start + 32 });
      } else if (type.startsWith('ecdsa-')) {
        field(), field();
        secrets.push(field());
      } else {
        field(), field();
        secrets.push(field());
        field();
        secrets.push(field(), field());
      }
      let at = 0;
      return lines.filter((line) => {
        const [from, to] = [(at / 4) * 3, ((at + line.length) / 4) * 3];
        at += line.length;
        return secrets.some((secret) => secret.start < to && secret.end > from);
      });
    });
}

function expectNoTemporaryLeft(): void {
  expect(readdirSync(tmp)).toEqual([]);
}

async function removeMade(): Promise<void> {
  for (const name of made) {
    for (const uri of [QEMU_URI, LXC_URI]) {
      await execa('virsh', ['-c', uri, 'destroy', name], { reject: false });
      await execa('virsh', ['-c', uri, 'undefine', name], { reject: false });
    }
  }
}

beforeAll(async () => {
  await buildTestTemplates();
  box = makeCloudSandbox();
  key = await sshKeyPair('hk-client');
  tmp = join(box.root, 'hk-tmp');
  mkdirSync(tmp, { mode: 0o700 });
  auditLog = join(box.root, 'hk-audit.log');
  const base = readFileSync(box.config, 'utf8');
  const config = join(box.root, 'hk.yaml');
  writeFileSync(config, `${base}audit:\n  file: ${auditLog}\n`);
  const off = join(box.root, 'hk-off.yaml');
  writeFileSync(off, `${base}cloud_init:\n  ssh_host_keys: []\n`);
  env = { HVAGENT_CONFIG: config, TMPDIR: tmp };
  offEnv = { HVAGENT_CONFIG: off, TMPDIR: tmp };
});

afterAll(async () => {
  await removeMade();
  await box?.remove();
  if (key) rmSync(key.dir, { recursive: true, force: true });
});

const guest = (name: string, extra: Record<string, unknown> = {}) => ({ name, vm_class: 'qemu', template: 'image:tiny', pool: 'flat', memory_mb: 192, ...extra });

test('the reply carries the public host keys the seed gives cloud-init, their fingerprints and known_hosts lines; the private keys appear nowhere else', async () => {
  const name = hkName();
  const requestid = `hk-req-${name}`;
  const { reply, stderr } = await rpc('vm', 'create', guest(name, { hostname: 'hk-web.example.test', ssh_authorized_keys: key.publicKey, network: 'default', ipv4: '192.168.122.248/24@192.168.122.1' }), { requestid });
  expect(reply).toMatchObject({ statuscode: 0, data: { name, changed: true } });
  const hostKeys = hostKeysOf(reply);
  expect(hostKeys.map((hostKey) => hostKey.type)).toEqual(['ed25519', 'ecdsa']); // the default
  expect(statSync(seedOf(reply)).mode & 0o777).toBe(0o600); // root only: it holds the private keys

  // cloud-init's cc_ssh is given both halves of each key, as TYPE_private and TYPE_public.
  const userData = await userDataOf(reply);
  const sshKeys = userData.ssh_keys as Record<string, string>;
  expect(Object.keys(sshKeys).sort()).toEqual(['ecdsa_private', 'ecdsa_public', 'ed25519_private', 'ed25519_public']);
  expect(userData.ssh_authorized_keys).toEqual([key.publicKey]);
  for (const hostKey of hostKeys) {
    expect(sshKeys[`${hostKey.type}_public`]).toBe(hostKey.public_key);
    // The private key the guest gets is the pair of the public key the caller gets.
    expect(await publicOfPrivate(sshKeys[`${hostKey.type}_private`]!)).toBe(hostKey.public_key.split(' ').slice(0, 2).join(' '));
    expect(hostKey.public_key).toMatch(/ root@hk-web\.example\.test$/);
    const [bits, fingerprint] = await keygenFingerprint(hostKey.public_key);
    expect(hostKey.fingerprint).toBe(fingerprint);
    expect(bits).toBe(256); // ed25519, and ECDSA on nistp256
  }
  expect(hostKeys[0]!.public_key).toMatch(/^ssh-ed25519 /);
  expect(hostKeys[1]!.public_key).toMatch(/^ecdsa-sha2-nistp256 /);

  // known_hosts: one line per key, for the VM name, the host name and the static address;
  // ssh-keygen finds both keys under each of them.
  const knownHosts = join(key.dir, `known_hosts-${name}`);
  writeFileSync(knownHosts, String(reply.data.known_hosts));
  for (const host of [name, 'hk-web.example.test', '192.168.122.248']) {
    const found = await execa('ssh-keygen', ['-F', host, '-f', knownHosts]);
    for (const hostKey of hostKeys) expect(String(found.stdout)).toContain(hostKey.public_key.split(' ').slice(0, 2).join(' '));
  }
  expect((await execa('ssh-keygen', ['-F', '192.168.122.247', '-f', knownHosts], { reject: false })).exitCode).not.toBe(0);

  // vm info keeps the public keys: known_hosts can be rebuilt after the reply is gone.
  const info = await rpc('vm', 'info', { name });
  expect((info.reply.data.metadata as Record<string, string>).ssh_host_keys).toBe(hostKeys.map((hostKey) => hostKey.public_key.split(' ').slice(0, 2).join(' ')).join(','));

  // The private keys: nowhere but the seed.
  const bodies = secretLines(sshKeys);
  expect(bodies.length).toBeGreaterThanOrEqual(2);
  const texts = {
    reply: JSON.stringify(reply),
    'vm info': JSON.stringify(info.reply),
    stderr: stderr + info.stderr,
    'job record': readFileSync(join(JOBS_DIR, `${requestid}.json`), 'utf8'),
    'audit log': readFileSync(auditLog, 'utf8'),
    'domain XML': await virsh(QEMU_URI, ['dumpxml', '--inactive', name]),
  };
  expect(texts['audit log']).toContain(requestid);
  for (const [where, text] of Object.entries(texts)) {
    expect({ where, marked: text.includes(PRIVATE_MARK) }).toEqual({ where, marked: false });
    for (const body of bodies) expect({ where, body, leaked: text.includes(body) }).toEqual({ where, body, leaked: false });
  }
  expectNoTemporaryLeft();

  expect((await rpc('vm', 'delete', { name, remove_volumes: true })).reply.statuscode).toBe(0);
  expect(box.leftovers()).toEqual([]);
});

test('ssh_host_keys chooses the types: rsa is 3072 bits; none gives the guest no key and the caller none, as does a configuration of none', async () => {
  const rsa = hkName();
  const { reply } = await rpc('vm', 'create', guest(rsa, { hostname: 'hk-rsa', ssh_host_keys: 'rsa,ed25519' }));
  expect(reply.statuscode).toBe(0);
  expect(hostKeysOf(reply).map((hostKey) => hostKey.type)).toEqual(['rsa', 'ed25519']);
  const sshKeys = (await userDataOf(reply)).ssh_keys as Record<string, string>;
  expect(Object.keys(sshKeys).sort()).toEqual(['ed25519_private', 'ed25519_public', 'rsa_private', 'rsa_public']);
  const [bits] = await keygenFingerprint(hostKeysOf(reply)[0]!.public_key);
  expect(bits).toBe(3072);
  expect(await publicOfPrivate(sshKeys.rsa_private!)).toBe(hostKeysOf(reply)[0]!.public_key.split(' ').slice(0, 2).join(' '));
  expect((await rpc('vm', 'delete', { name: rsa, remove_volumes: true })).reply.statuscode).toBe(0);

  for (const [how, data, useEnv] of [
    ['input none', { ssh_host_keys: 'none' }, env],
    ['configuration []', {}, offEnv],
  ] as const) {
    const name = hkName();
    const { reply: created } = await rpc('vm', 'create', guest(name, { hostname: 'hk-none', ...data }), { env: useEnv });
    expect({ how, statuscode: created.statuscode, keys: created.data.ssh_host_keys, known_hosts: created.data.known_hosts }).toEqual({ how, statuscode: 0, keys: [], known_hosts: null });
    const userData = await userDataOf(created);
    expect({ how, ssh_keys: userData?.ssh_keys }).toEqual({ how, ssh_keys: undefined });
    expect((await rpc('vm', 'delete', { name, remove_volumes: true }, { env: useEnv })).reply.statuscode).toBe(0);
  }
  // Without cloud-init data there is no seed, and so no host key.
  const plain = hkName();
  const { reply: bare } = await rpc('vm', 'create', guest(plain));
  expect(bare.data).toMatchObject({ ssh_host_keys: [], known_hosts: null });
  expect((bare.data.volumes as Array<{ name: string }>).map((volume) => volume.name)).toEqual([`${plain}-root`]);
  expect((await rpc('vm', 'delete', { name: plain, remove_volumes: true })).reply.statuscode).toBe(0);
  expect(box.leftovers()).toEqual([]);
  expectNoTemporaryLeft();
});

test("a user_data that sets ssh_keys or ssh_genkeytypes wins: hvagent adds no key; the input with it is refused, naming it, and nothing is made", async () => {
  const theirs = { rsa_private: '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n', rsa_public: 'ssh-rsa AAAAnot-real their@host' };
  const cases = [
    ['ssh_genkeytypes', `#cloud-config\nssh_genkeytypes: [ed25519]\n`, { ssh_genkeytypes: ['ed25519'] }],
    ['ssh_keys', `#cloud-config\nssh_keys:\n  rsa_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    not-a-real-key\n    -----END OPENSSH PRIVATE KEY-----\n  rsa_public: ${theirs.rsa_public}\n`, { ssh_keys: theirs }],
  ] as const;
  for (const [setting, userData, expected] of cases) {
    const name = hkName();
    const { reply } = await rpc('vm', 'create', guest(name, { user_data: userData }));
    expect({ setting, statuscode: reply.statuscode, keys: reply.data.ssh_host_keys }).toEqual({ setting, statuscode: 0, keys: [] });
    expect(await userDataOf(reply)).toEqual(expected);
    expect((await rpc('vm', 'delete', { name, remove_volumes: true })).reply.statuscode).toBe(0);

    const refusedName = hkName();
    const { reply: refused } = await rpc('vm', 'create', guest(refusedName, { user_data: userData, ssh_host_keys: 'ed25519' }));
    expect(refused).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(refused.statusmsg).toMatch(/^Input 'ssh_host_keys' and the ssh_keys or ssh_genkeytypes key of input 'user_data'/);
    expect(refused.statusmsg).not.toContain('not-a-real-key');
    expect(await domstate(refusedName)).toBe('absent');
  }
  expect(box.leftovers()).toEqual([]);
  expectNoTemporaryLeft();
});

test('bad ssh_host_keys input is refused naming it, before anything is made', async () => {
  for (const value of ['dsa', 'ed25519,', 'ed25519;rsa', 'none,rsa']) {
    const name = hkName();
    const { reply } = await rpc('vm', 'create', guest(name, { hostname: 'hk-bad', ssh_host_keys: value }));
    expect({ value, statuscode: reply.statuscode, code: reply.data.error_code }).toEqual({ value, statuscode: 4, code: 'INPUT_INVALID' });
    expect(reply.statusmsg).toContain('ssh_host_keys');
    expect(await domstate(name)).toBe('absent');
  }
  // Host key types without anything for cloud-init to do: there would be no seed to give them to.
  const name = hkName();
  const { reply } = await rpc('vm', 'create', guest(name, { ssh_host_keys: 'rsa' }));
  expect(reply).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
  expect(reply.statusmsg).toMatch(/^Input 'ssh_host_keys' is for a guest given cloud-init data/);
  expect(box.leftovers()).toEqual([]);
  expectNoTemporaryLeft();
});

test('a failure while the keys are made or after the seed leaves nothing: no seed, no private directory, no private key in the error, the job record or the audit log', async () => {
  for (const step of ['root-volume', 'seed', 'define']) {
    const name = hkName();
    const requestid = `hk-fail-${name}`;
    const ran = await cli(['rpc'], { ...env, HVAGENT_TEST_FAIL_AFTER: step }, JSON.stringify({ agent: 'vm', action: 'create', requestid, data: guest(name, { hostname: 'hk-fail', ssh_host_keys: 'ed25519,ecdsa,rsa' }) }));
    const reply = JSON.parse(ran.stdout) as Reply;
    expect({ step, statuscode: reply.statuscode }).toEqual({ step, statuscode: 5 });
    expect(reply.statusmsg).toContain(`after step '${step}'`);
    for (const text of [ran.stdout, ran.stderr, readFileSync(join(JOBS_DIR, `${requestid}.json`), 'utf8'), readFileSync(auditLog, 'utf8')]) {
      expect({ step, marked: text.includes(PRIVATE_MARK) }).toEqual({ step, marked: false });
    }
    expect(await domstate(name)).toBe('absent');
    expect({ step, left: box.leftovers() }).toEqual({ step, left: [] });
    expect({ step, tmp: readdirSync(tmp) }).toEqual({ step, tmp: [] });
  }
});

test("a container's seed files give it the host keys too, its user-data root only", async () => {
  const name = hkName();
  const { reply } = await rpc('vm', 'create', { name, vm_class: 'lxc', template: 'lxc:busybox', pool: 'ct', memory_mb: 128, hostname: 'hk-ct' });
  expect(reply.statuscode).toBe(0);
  const hostKeys = hostKeysOf(reply);
  expect(hostKeys.map((hostKey) => hostKey.type)).toEqual(['ed25519', 'ecdsa']);
  const seed = join((reply.data.volumes as Array<{ path: string }>)[0]!.path, 'var/lib/cloud/seed/nocloud');
  expect(statSync(join(seed, 'user-data')).mode & 0o777).toBe(0o600);
  const sshKeys = (parse(readFileSync(join(seed, 'user-data'), 'utf8')) as { ssh_keys: Record<string, string> }).ssh_keys;
  for (const hostKey of hostKeys) {
    expect(sshKeys[`${hostKey.type}_public`]).toBe(hostKey.public_key);
    expect(await publicOfPrivate(sshKeys[`${hostKey.type}_private`]!)).toBe(hostKey.public_key.split(' ').slice(0, 2).join(' '));
  }
  expect(String(reply.data.known_hosts)).toMatch(new RegExp(`^${name},hk-ct ssh-ed25519 \\S+\\n${name},hk-ct ecdsa-sha2-nistp256 \\S+\\n$`));
  expect((await rpc('vm', 'delete', { name, remove_volumes: true })).reply.statuscode).toBe(0);
  expect(box.leftovers()).toEqual([]);
  expectNoTemporaryLeft();
});
