import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { diskError } from '../core/disk-errors.js';
import { HvError } from '../core/errors.js';
import { temporaryDirectory, temporaryPlace } from '../files/temporary.js';
import { ToolError } from '../process/failure.js';
import { runProcess } from '../process/run.js';

// The guest's SSH host keys, made on the host with ssh-keygen and handed to cloud-init
// (cc_ssh's `ssh_keys`: it writes them to /etc/ssh and makes none of its own). The caller
// gets the public halves, their fingerprints and known_hosts lines, so the first login is
// verified instead of trusted on first use, and the guest skips the key generation that
// costs 8-60 s under TCG (docs/CLOUD-INIT.md, "SSH host keys").
// The private halves are secrets: they exist only in a private directory while ssh-keygen
// runs (removed at once), in memory, and in the seed's user-data (root only). Nothing here
// quotes one in a message, and HostKey hides it from JSON and from util.inspect.

export const HOST_KEY_TYPES = ['ed25519', 'ecdsa', 'rsa'] as const;
export type HostKeyType = (typeof HOST_KEY_TYPES)[number];
/** What an operator's ssh prefers and what ssh-keygen makes in tens of ms; rsa (3072 bits) takes 1-5 s on a loaded host. */
export const DEFAULT_HOST_KEY_TYPES: readonly HostKeyType[] = ['ed25519', 'ecdsa'];

const KEYGEN_ARGS: Readonly<Record<HostKeyType, readonly string[]>> = {
  ed25519: ['-t', 'ed25519'],
  ecdsa: ['-t', 'ecdsa', '-b', '256'],
  rsa: ['-t', 'rsa', '-b', '3072'],
};
/** RSA's prime search on a loaded 2-core host takes seconds; the bound is only for a hung tool. */
const KEYGEN_TIMEOUT_MS = 120_000;

export interface PublicHostKey {
  readonly type: HostKeyType;
  /** `ssh-ed25519 AAAA… root@HOST`, as in the guest's /etc/ssh/ssh_host_ed25519_key.pub. */
  readonly publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -l` and ssh's first-connection prompt show it. */
  readonly fingerprint: string;
}

/** One host key pair. The private key is readable only through `privateKey()`. */
export class HostKey implements PublicHostKey {
  readonly #privateKey: string;
  readonly fingerprint: string;

  constructor(
    readonly type: HostKeyType,
    readonly publicKey: string,
    privateKey: string,
  ) {
    this.#privateKey = privateKey;
    this.fingerprint = fingerprintOf(publicKey);
  }

  /** The OpenSSH private key file's text: for the seed's user-data only. */
  privateKey(): string {
    return this.#privateKey;
  }

  toJSON(): PublicHostKey {
    return { type: this.type, publicKey: this.publicKey, fingerprint: this.fingerprint };
  }
}

/** SHA256 fingerprint of an OpenSSH public key line: base64 of the blob's digest, unpadded. */
export function fingerprintOf(publicKey: string): string {
  const blob = Buffer.from(publicKey.split(' ')[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The types of input `input` (`ed25519,ecdsa,rsa`, comma-separated, or `none`), each once,
 * in the order given; [] for none.
 */
export function parseHostKeyTypes(text: string, input: string): HostKeyType[] {
  const names = text.split(',').map((name) => name.trim().toLowerCase());
  if (names.length === 1 && names[0] === 'none') return [];
  const types: HostKeyType[] = [];
  for (const name of names) {
    if (!(HOST_KEY_TYPES as readonly string[]).includes(name)) {
      throw new HvError('INPUT_INVALID', `Input '${input}': '${name.slice(0, 20)}' is not a host key type: give ${HOST_KEY_TYPES.join(', ')} (comma-separated), or none`, { input });
    }
    if (!types.includes(name as HostKeyType)) types.push(name as HostKeyType);
  }
  return types;
}

/**
 * Makes one key pair of each type (ssh-keygen, concurrently) in a private directory that is
 * removed before this returns, whatever happens. `comment` ends each public key line.
 */
export async function generateHostKeys(types: readonly HostKeyType[], comment: string, signal: AbortSignal | undefined): Promise<HostKey[]> {
  const full = (error: unknown): never => {
    throw diskError(error, temporaryPlace()) ?? error;
  };
  const directory = temporaryDirectory('hostkeys');
  try {
    return await Promise.all(
      types.map(async (type) => {
        const file = join(directory, `ssh_host_${type}_key`);
        await keygen([...KEYGEN_ARGS[type], '-q', '-N', '', '-C', comment, '-f', file], signal);
        const [privateKey, publicKey] = await Promise.all([readFile(file, 'utf8'), readFile(`${file}.pub`, 'utf8')]).catch(full);
        return new HostKey(type, publicKey.trim(), privateKey);
      }),
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function keygen(args: readonly string[], signal: AbortSignal | undefined): Promise<void> {
  try {
    await runProcess('ssh-keygen', args, { timeoutMs: KEYGEN_TIMEOUT_MS, ...(signal && { signal }) });
  } catch (error) {
    if (error instanceof ToolError && error.notInstalled) {
      throw new HvError('UNSUPPORTED', "Making the guest's SSH host keys needs ssh-keygen on this host (apt-get install openssh-client), or ssh_host_keys=none", {
        tool: 'ssh-keygen',
        input: 'ssh_host_keys',
      });
    }
    throw error;
  }
}

/**
 * known_hosts lines, one per key, for `hosts` (names and addresses the guest is reached by;
 * plain, not hashed: the caller decides). An empty string when there is no key.
 */
export function knownHostsLines(hosts: readonly string[], keys: readonly PublicHostKey[]): string {
  const pattern = [...new Set(hosts)].join(',');
  return keys.map((key) => `${pattern} ${keyWithoutComment(key)}\n`).join('');
}

/** `TYPE BASE64` of a public key line, its comment left out. */
export function keyWithoutComment(key: PublicHostKey): string {
  return key.publicKey.split(' ').slice(0, 2).join(' ');
}
