import { HvError } from '../../../src/core/errors.js';
import { parseAuthorizedKeys } from '../../../src/cloudinit/ssh-keys.js';
import { KEYS, PRIVATE_KEY } from './fixtures/keys.js';

/** The refusal a text gets (fails the test when it is accepted). */
function refusal(text: string): HvError {
  try {
    parseAuthorizedKeys(text);
  } catch (error) {
    expect(error).toBeInstanceOf(HvError);
    const refused = error as HvError;
    expect(refused.code).toBe('INPUT_INVALID');
    expect(refused.details).toEqual({ input: 'ssh_authorized_keys' });
    expect(refused.message).toContain("Input 'ssh_authorized_keys'");
    return refused;
  }
  throw new Error('accepted');
}

const body = (key: string) => key.split(' ')[1]!;

describe('ssh_authorized_keys', () => {
  test('every key type ssh-keygen makes today is accepted as it is', () => {
    for (const key of [KEYS.ed, KEYS.rsa, KEYS.ec256, KEYS.ec521]) expect(parseAuthorizedKeys(key)).toEqual([key]);
  });

  test('several keys, one a line: blank and # lines skipped, CRLF and tabs read, a repeated key kept once', () => {
    const text = `# ops team\r\n${KEYS.ed}\r\n\r\n   \n${KEYS.rsa.replace(' ', '\t')}\n${KEYS.ed}\n`;
    expect(parseAuthorizedKeys(text)).toEqual([KEYS.ed, KEYS.rsa]);
  });

  test('a key without a comment', () => {
    const bare = KEYS.ed.split(' ').slice(0, 2).join(' ');
    expect(parseAuthorizedKeys(bare)).toEqual([bare]);
  });

  test('a private key is refused, and nothing of it is repeated', () => {
    const refused = refusal(`${KEYS.ed}\n${PRIVATE_KEY}`);
    expect(refused.message).toMatch(/private key.*public key \(the \.pub file/);
    expect(refused.message).not.toContain('b3BlbnNzaC1rZXktdjE');
  });

  test.each([
    ['a DSA key', KEYS.dsa, /line 1 is a DSA key/],
    ['an RSA key under 2048 bits', KEYS.weak, /line 1: an RSA key of 1024 bits is too weak/],
    ['a body that is not base64', `ssh-ed25519 AAAA*AAA comment`, /line 1: the key is not valid base64/],
    ['a truncated body', `ssh-ed25519 ${body(KEYS.ed).slice(0, 40)}`, /line 1: the key (is not valid base64|body is truncated)/],
    ['a body of another type', `ssh-ed25519 ${body(KEYS.rsa)} x`, /line 1: the key says it is ssh-ed25519 but its body is not/],
    ['an ECDSA body under the name of another curve', `ecdsa-sha2-nistp384 ${body(KEYS.ec256)}`, /line 1: the key says it is ecdsa-sha2-nistp384/],
    ['a type but no key', 'ssh-ed25519', /line 1 has a key type but no key/],
    ['authorized_keys options', `from="10.0.0.0/8" ${KEYS.ed}`, /line 1 does not start with an OpenSSH public key type.*user_data/],
    ['a stray word', 'hello', /line 1 does not start with an OpenSSH public key type/],
    ['an SSH2 (RFC 4716) key', '---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----', /RFC 4716.*ssh-keygen -i/],
    ['only comments', '# nothing here\n\n', /holds no key/],
  ])('%s is refused', (_what, text, message) => {
    expect(refusal(text).message).toMatch(message);
  });

  test('the line of a bad key is named, and its text is not repeated', () => {
    const bad = `ssh-ed25519 ${body(KEYS.rsa)} carol@secret-host`;
    const refused = refusal(`${KEYS.ed}\n\n${bad}`);
    expect(refused.message).toContain('line 3');
    expect(refused.message).not.toContain(body(KEYS.rsa).slice(10, 40));
    expect(refused.message).not.toContain('carol');
  });

  test('a key with bytes after its end is refused', () => {
    const padded = Buffer.concat([Buffer.from(body(KEYS.ed), 'base64'), Buffer.from([0, 0, 0, 0])]).toString('base64');
    expect(refusal(`ssh-ed25519 ${padded}`).message).toMatch(/bytes after its end/);
  });

  test('more than 64 keys are refused', () => {
    const many = Array.from({ length: 65 }, (_, i) => `${KEYS.ed.split(' ').slice(0, 2).join(' ')} key${i}`).join('\n');
    expect(refusal(many).message).toMatch(/65 keys; at most 64/);
  });
});
