import { HvError } from '../core/errors.js';

// OpenSSH public keys for authorized_keys, one a line: `TYPE BASE64 [COMMENT]`. Each is
// checked as sshd would read it: a known type, a body that decodes to the key blob of
// that same type (PROTOCOL.key's wire format), and a sane size. Messages never quote a
// line: what a caller pastes here by mistake may be a secret (a private key).

const INPUT = 'ssh_authorized_keys';
export const MAX_KEYS = 64;
const MAX_LINE = 16_384;
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16_384;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What each key type's blob holds after its type name. */
type Shape = 'rsa' | 'ed25519' | 'ecdsa' | 'sk-ed25519' | 'sk-ecdsa';
const TYPES: Readonly<Record<string, Shape>> = {
  'ssh-ed25519': 'ed25519',
  'ssh-rsa': 'rsa',
  'ecdsa-sha2-nistp256': 'ecdsa',
  'ecdsa-sha2-nistp384': 'ecdsa',
  'ecdsa-sha2-nistp521': 'ecdsa',
  'sk-ssh-ed25519@openssh.com': 'sk-ed25519',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'sk-ecdsa',
};
/** Uncompressed point sizes (0x04 || X || Y) per curve. */
const ECDSA_POINT: Readonly<Record<string, number>> = { nistp256: 65, nistp384: 97, nistp521: 133 };

function refuse(message: string): never {
  throw new HvError('INPUT_INVALID', `Input '${INPUT}': ${message}`, { input: INPUT });
}

/**
 * The keys of a newline-separated list, each checked and normalised to one
 * `TYPE BASE64 [COMMENT]` line. Blank lines and `#` comment lines are skipped.
 */
export function parseAuthorizedKeys(text: string): string[] {
  if (/PRIVATE KEY|PuTTY-User-Key-File/.test(text)) {
    refuse('this is a private key. Give the public key (the .pub file, e.g. ~/.ssh/id_ed25519.pub), and keep the private key secret');
  }
  if (/BEGIN SSH2 PUBLIC KEY/.test(text)) refuse('this is an RFC 4716 (SSH2/PuTTY) public key; convert it with `ssh-keygen -i -f FILE` to the OpenSSH one-line form');
  const keys: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    keys.push(parseKeyLine(line, index + 1));
  });
  if (keys.length === 0) refuse('holds no key (one OpenSSH public key a line: TYPE BASE64 [COMMENT])');
  if (keys.length > MAX_KEYS) refuse(`holds ${keys.length} keys; at most ${MAX_KEYS}`);
  return [...new Set(keys)];
}

function parseKeyLine(line: string, number: number): string {
  const at = `line ${number}`;
  if (line.length > MAX_LINE) refuse(`${at} is longer than ${MAX_LINE} characters`);
  const [type = '', body = '', ...comment] = line.split(/[ \t]+/);
  if (type === 'ssh-dss') refuse(`${at} is a DSA key, which OpenSSH no longer accepts; use an ed25519, ECDSA or RSA key`);
  const shape = Object.hasOwn(TYPES, type) ? TYPES[type] : undefined;
  if (!shape) {
    refuse(`${at} does not start with an OpenSSH public key type (${Object.keys(TYPES).join(', ')}); authorized_keys options are not taken here: put them in user_data`);
  }
  if (!body) refuse(`${at} has a key type but no key (expected TYPE BASE64 [COMMENT])`);
  if (!BASE64.test(body)) refuse(`${at}: the key is not valid base64`);
  const problem = blobProblem(Buffer.from(body, 'base64'), type, shape);
  if (problem) refuse(`${at}: ${problem}`);
  return [type, body, ...comment].join(' ');
}

/** Why the decoded key is not a `type` key (undefined when it is one). */
export function blobProblem(blob: Buffer, type: string, shape: Shape): string | undefined {
  const reader = new WireReader(blob);
  try {
    const named = reader.string().toString('latin1');
    if (named !== type) return `the key says it is ${type} but its body is not a ${type} key`;
    switch (shape) {
      case 'rsa': {
        reader.string(); // e
        const bits = mpintBits(reader.string());
        if (bits < MIN_RSA_BITS) return `an RSA key of ${bits} bits is too weak; at least ${MIN_RSA_BITS}`;
        if (bits > MAX_RSA_BITS) return `an RSA key of ${bits} bits is larger than ${MAX_RSA_BITS}`;
        break;
      }
      case 'ed25519':
      case 'sk-ed25519':
        if (reader.string().length !== 32) return 'the ed25519 key is not 32 bytes';
        if (shape === 'sk-ed25519') reader.string(); // application
        break;
      case 'ecdsa':
      case 'sk-ecdsa': {
        const curve = reader.string().toString('latin1');
        if (!type.includes(curve) || !Object.hasOwn(ECDSA_POINT, curve)) return `the ECDSA key's curve is not the one ${type} names`;
        const point = reader.string();
        if (point.length !== ECDSA_POINT[curve] || point[0] !== 4) return 'the ECDSA key is not an uncompressed point of its curve';
        if (shape === 'sk-ecdsa') reader.string(); // application
        break;
      }
    }
    if (!reader.done()) return 'the key has bytes after its end';
  } catch {
    return 'the key body is truncated';
  }
  return undefined;
}

/** Bits of an SSH mpint's magnitude (leading zero bytes and bits not counted). */
function mpintBits(bytes: Buffer): number {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start += 1;
  if (start === bytes.length) return 0;
  return (bytes.length - start - 1) * 8 + (32 - Math.clz32(bytes[start]!));
}

class WireReader {
  #offset = 0;
  constructor(private readonly buffer: Buffer) {}

  string(): Buffer {
    if (this.#offset + 4 > this.buffer.length) throw new RangeError('truncated');
    const length = this.buffer.readUInt32BE(this.#offset);
    const start = this.#offset + 4;
    if (start + length > this.buffer.length) throw new RangeError('truncated');
    this.#offset = start + length;
    return this.buffer.subarray(start, start + length);
  }

  done(): boolean {
    return this.#offset === this.buffer.length;
  }
}
