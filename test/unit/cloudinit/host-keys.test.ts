import { inspect } from 'node:util';
import { parse } from 'yaml';
import type { HvError } from '../../../src/core/errors.js';
import { HostKey, knownHostsLines, parseHostKeyTypes } from '../../../src/cloudinit/host-keys.js';
import { addHostKeys } from '../../../src/cloudinit/user-data.js';
import { refusalOf } from '../refusal.js';

// A real ed25519 public key (ssh-keygen -t ed25519 -C root@hk-unit; its private half was not kept);
// the fingerprint is what `ssh-keygen -l -f` printed for it.
const PUBLIC = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDbpd3IhlLALwrr09e4PWijiUYC1QtGal0rl6xT1P21a root@hk-unit';
const FINGERPRINT = 'SHA256:qrgel/JPUPlLqQ+H0ARrXYsNAZZjnnEKrpZ2Ead25q8';
const PRIVATE = '-----BEGIN OPENSSH PRIVATE KEY-----\nhk-unit-private-body\n-----END OPENSSH PRIVATE KEY-----\n';

function refusal(text: string): HvError {
  const error = refusalOf(() => parseHostKeyTypes(text, 'ssh_host_keys'));
  expect(error.code).toBe('INPUT_INVALID');
  expect(error.details).toEqual({ input: 'ssh_host_keys' });
  return error;
}

describe('ssh_host_keys', () => {
  test('types are taken in the order given, each once; none is no key', () => {
    expect(parseHostKeyTypes('ed25519,ecdsa', 'ssh_host_keys')).toEqual(['ed25519', 'ecdsa']);
    expect(parseHostKeyTypes('rsa,ed25519,rsa', 'ssh_host_keys')).toEqual(['rsa', 'ed25519']);
    expect(parseHostKeyTypes('none', 'ssh_host_keys')).toEqual([]);
  });

  test.each(['dsa', 'none,rsa', '', 'ed448'])('%j is refused naming the input', (text) => {
    expect(refusal(text).message).toMatch(/^Input 'ssh_host_keys': .* is not a host key type/);
  });
});

describe('a host key', () => {
  const key = new HostKey('ed25519', PUBLIC, PRIVATE);

  test("has the fingerprint ssh-keygen prints for it", () => {
    expect(key.fingerprint).toBe(FINGERPRINT);
  });

  test('never shows its private half in JSON or util.inspect (a log line), only through privateKey()', () => {
    expect(JSON.stringify(key)).toBe(JSON.stringify({ type: 'ed25519', publicKey: PUBLIC, fingerprint: FINGERPRINT }));
    expect(inspect(key, { depth: 5, showHidden: true })).not.toContain('hk-unit-private-body');
    expect(`${String(key)}`).not.toContain('hk-unit-private-body');
    expect(key.privateKey()).toBe(PRIVATE);
  });

  test('goes into user-data as cc_ssh reads it, the document otherwise unchanged', () => {
    const text = addHostKeys('#cloud-config\n# site\nruncmd: [[touch, /x]]\n', [key]);
    expect(text.split('\n').slice(0, 2)).toEqual(['#cloud-config', '# site']);
    expect(parse(text)).toEqual({ runcmd: [['touch', '/x']], ssh_keys: { ed25519_private: PRIVATE, ed25519_public: PUBLIC } });
    expect(parse(addHostKeys('#cloud-config\n', [key]))).toEqual({ ssh_keys: { ed25519_private: PRIVATE, ed25519_public: PUBLIC } });
    expect(addHostKeys('#cloud-config\nhostname: a\n', [])).toBe('#cloud-config\nhostname: a\n');
  });

  test('known_hosts: one line per key for every name, each name once, without the comment', () => {
    expect(knownHostsLines(['vm1', 'web', 'vm1', '192.0.2.7'], [key])).toBe(`vm1,web,192.0.2.7 ${PUBLIC.split(' ').slice(0, 2).join(' ')}\n`);
    expect(knownHostsLines(['vm1'], [])).toBe('');
  });
});
