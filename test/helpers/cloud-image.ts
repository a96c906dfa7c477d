// The real Debian 12 cloud image that scripts/cloud-image.sh builds (docs/CLOUD-IMAGE.md),
// and ssh into guests made from it. Every command runs from an argument array.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { REPO } from './agent.js';

export const CLOUD_IMAGE_SCRIPT = join(REPO, 'scripts', 'cloud-image.sh');
export const CLOUD_IMAGE_DIR = join(process.env.HVAGENT_ASSETS ?? '/var/lib/hvagent/test-assets', 'cloud-image');
export const CLOUD_IMAGE = join(CLOUD_IMAGE_DIR, 'debian12-cloud.qcow2');
/** Debian's cloud-init makes this user, with the seed's ssh_authorized_keys and sudo. */
export const CLOUD_USER = 'debian';

/**
 * The image's path. Throws unless it exists and was built by the current
 * scripts/cloud-image.sh (its cache key is the script's sha256).
 */
export function cloudImage(): string {
  const rebuild = `run scripts/cloud-image.sh as root (npm test does)`;
  if (!existsSync(CLOUD_IMAGE)) throw new Error(`the Debian 12 cloud image ${CLOUD_IMAGE} is missing: ${rebuild}`);
  const want = createHash('sha256').update(readFileSync(CLOUD_IMAGE_SCRIPT)).digest('hex');
  const keyFile = CLOUD_IMAGE.replace(/\.qcow2$/, '.key');
  const have = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '';
  if (have !== want) throw new Error(`${CLOUD_IMAGE} was built by another version of scripts/cloud-image.sh: ${rebuild}`);
  return CLOUD_IMAGE;
}

export interface SshKeyPair {
  /** The temporary directory holding both files; the caller removes it. */
  dir: string;
  privateKey: string;
  /** The public key line: `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
}

/** A fresh ed25519 key pair without a passphrase, in its own temporary directory. */
export async function sshKeyPair(comment = 'hvagent-test'): Promise<SshKeyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'hvagent-ssh-'));
  const privateKey = join(dir, 'id_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', privateKey]);
  return { dir, privateKey, publicKey: readFileSync(`${privateKey}.pub`, 'utf8').trim() };
}

/** One argument quoted for the remote POSIX shell, which ssh hands the joined command to. */
function remoteQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

export interface SshOptions {
  user?: string;
  /** How long to keep trying to connect and log in (default 3 minutes). */
  timeoutMs?: number;
  /**
   * Verify the guest's host key (StrictHostKeyChecking=yes) against this known_hosts file
   * only, under the name `alias` (HostKeyAlias: the lines name the VM, not its DHCP
   * address). Without it, any host key is accepted.
   */
  knownHosts?: { file: string; alias: string };
}

export interface SshResult {
  stdout: string;
  stderr: string;
  /** How many connections it took. */
  attempts: number;
}

/**
 * Runs `command` (one remote argument per element) as `user` on `ip` with the private key.
 * ssh's own failures (exit 255: no route, refused, sshd not up yet, key not authorized yet)
 * are retried until the deadline; a command that ran and failed throws at once.
 */
export async function sshRun(ip: string, key: string, command: readonly string[], options: SshOptions = {}): Promise<SshResult> {
  const { user = CLOUD_USER, timeoutMs = 3 * 60_000, knownHosts } = options;
  const hostKeyChecking = knownHosts
    ? ['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts.file}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', `HostKeyAlias=${knownHosts.alias}`]
    : ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];
  const args = [
    '-F', '/dev/null', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
    '-o', 'BatchMode=yes', ...hostKeyChecking,
    '-o', 'ConnectTimeout=15', '-o', 'LogLevel=ERROR',
    '-l', user, ip, '--', ...command.map(remoteQuote),
  ];
  const until = Date.now() + timeoutMs;
  for (let attempts = 1; ; attempts += 1) {
    const ran = await execa('ssh', args, { reject: false, stdin: 'ignore', timeout: 120_000 });
    const stdout = String(ran.stdout);
    const stderr = String(ran.stderr).trim();
    if (ran.exitCode === 0) return { stdout, stderr, attempts };
    if (ran.exitCode !== 255 && !ran.timedOut) {
      throw new Error(`ssh ${user}@${ip} ${command.join(' ')}: exit ${ran.exitCode}: ${stderr}`);
    }
    // The guest answered with a host key the known_hosts file does not hold: no retry mends that.
    if (/Host key verification failed/.test(stderr)) throw new Error(`ssh ${user}@${ip}: the guest's host key is not the one known: ${stderr}`);
    if (Date.now() >= until) {
      throw new Error(`ssh ${user}@${ip}: no login within ${timeoutMs} ms (${attempts} attempts; last: ${ran.timedOut ? 'timed out' : stderr})`);
    }
    await sleep(2_000);
  }
}
