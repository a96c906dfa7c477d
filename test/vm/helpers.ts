// The vm agent against the real libvirtd: helpers that drive the built agent and look at
// the truth through virsh, the guests' serial logs and the containers' root directories.
// Every VM, disk and root directory a test makes is registered here and removed by
// cleanup(), so a failing test leaves nothing behind; nothing else on the host is touched.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { AGENT, agentEnv, stdioRpc, type Reply } from '../helpers/agent.js';

export const QEMU_URI = 'qemu:///system';
export const LXC_URI = 'lxc:///system';
export const ASSETS = process.env.HVAGENT_ASSETS ?? '/var/lib/hvagent/test-assets';
export const KERNEL = join(ASSETS, 'vmlinuz');
export const INITRD = join(ASSETS, 'initrd.img');
export const CMDLINE = 'console=ttyS0 panic=-1 quiet';
/** The initramfs starts no acpid with this switch: a guest that ignores the power button. */
export const CMDLINE_NO_ACPI = `${CMDLINE} guest_noacpid`;
export const CONSOLE_DIR = '/var/log/hvagent/console';
/** hvagent's per-VM flock(2) files (config paths.lock_dir, default). */
export const LOCK_DIR = '/run/hvagent/locks';
export const READY = 'GUEST: READY';
export const ACPI_POWEROFF = 'GUEST: ACPI power button -> poweroff';
/** Generous bound for anything a TCG guest or libvirt does. */
export const BOUND_MS = 90_000;

const vms = new Set<string>();
const paths = new Set<string>();

function token(): string {
  return randomBytes(5).toString('hex');
}

/** A fresh VM name, removed from both drivers by cleanup(). */
export function newVmName(): string {
  const name = `t-${token()}`;
  vms.add(name);
  return name;
}

// ---- the agent ------------------------------------------------------------------------

export type Inputs = Record<string, unknown>;

/** One request through `hvagent rpc` (stdio JSON), with optional envelope fields. */
export function vm(action: string, data: Inputs, envelope: { requestid?: string; callerid?: string } = {}): Promise<Reply> {
  return stdioRpc({ agent: 'vm', action, data, ...envelope });
}

/**
 * A stdio request in its own agent process, left running so the test can signal it;
 * timeoutMs bounds it (the process is killed and `timedOut` set).
 */
export function spawnVm(action: string, data: Inputs, timeoutMs = 5 * 60_000) {
  const input = JSON.stringify({ agent: 'vm', action, data });
  return execa(AGENT, ['rpc'], { input, env: agentEnv(), extendEnv: false, reject: false, timeout: timeoutMs });
}

export function replyOf(ran: { stdout: unknown }): Reply {
  return JSON.parse(String(ran.stdout)) as Reply;
}

/** The usual direct-kernel-boot TCG guest. */
export function guestSpec(name: string, extra: Inputs = {}): Inputs {
  return { name, vm_class: 'qemu', kernel: KERNEL, initrd: INITRD, cmdline: CMDLINE, memory_mb: 192, ...extra };
}

/** A guest booting from `disk` (given by path) instead of the test kernel. */
export function diskGuestSpec(name: string, disk: string, extra: Inputs = {}): Inputs {
  return guestSpec(name, { disk, kernel: undefined, initrd: undefined, cmdline: undefined, ...extra });
}

/** Defines (and with start=true starts) a guest through the agent; fails the test unless it worked. */
export async function createGuest(name: string, extra: Inputs = {}): Promise<Reply> {
  const reply = await vm('create', guestSpec(name, extra));
  expect(reply).toMatchObject({ statuscode: 0, data: { name, changed: true } });
  return reply;
}

// ---- the truth, through virsh and the guests ------------------------------------------

export async function virsh(uri: string, args: readonly string[]): Promise<string> {
  const ran = await execa('virsh', ['-c', uri, ...args], { env: { LC_ALL: 'C' }, reject: false });
  if (ran.exitCode !== 0) throw new Error(`virsh -c ${uri} ${args.join(' ')} failed (${ran.exitCode}): ${String(ran.stderr).trim()}`);
  return String(ran.stdout);
}

/** `virsh domstate` ('running', 'paused', 'shut off', …), or 'absent' when the domain is not defined. */
export async function domstate(name: string, uri = QEMU_URI): Promise<string> {
  const ran = await execa('virsh', ['-c', uri, 'domstate', `--domain=${name}`], { env: { LC_ALL: 'C' }, reject: false });
  if (ran.exitCode !== 0) {
    if (/failed to get domain|Domain not found/i.test(String(ran.stderr))) return 'absent';
    throw new Error(`virsh domstate ${name}: ${String(ran.stderr).trim()}`);
  }
  return String(ran.stdout).trim();
}

/** Every domain name defined on both drivers. */
export async function definedDomains(): Promise<string[]> {
  const names = async (uri: string) => (await virsh(uri, ['list', '--all', '--name'])).split('\n').map((line) => line.trim()).filter(Boolean);
  return [...(await names(QEMU_URI)), ...(await names(LXC_URI))].sort();
}

/** `virsh dominfo` as a map: 'Max memory' → '524288 KiB', 'Autostart' → 'enable', … */
export async function dominfo(name: string, uri = QEMU_URI): Promise<Record<string, string>> {
  const out = await virsh(uri, ['dominfo', name]);
  return Object.fromEntries(out.split('\n').flatMap((line) => {
    const match = /^([^:]+):\s*(.*)$/.exec(line);
    return match ? [[match[1]!.trim(), match[2]!.trim()]] : [];
  }));
}

/** The number in a `<tag unit='KiB'>n</tag>` element of a domain XML. */
export function xmlKib(xml: string, tag: string): number {
  const match = new RegExp(`<${tag} unit='KiB'>(\\d+)</${tag}>`).exec(xml);
  if (!match) throw new Error(`no <${tag} unit='KiB'> in the domain XML`);
  return Number(match[1]);
}

/** `virsh dommemstat` as numbers (actual, rss, …). */
export async function dommemstat(name: string): Promise<Record<string, number>> {
  const out = await virsh(QEMU_URI, ['dommemstat', name]);
  return Object.fromEntries(out.trim().split('\n').map((line) => line.trim().split(/\s+/)).map(([key, value]) => [key!, Number(value)]));
}

export async function snapshotNames(name: string): Promise<string[]> {
  return (await virsh(QEMU_URI, ['snapshot-list', name, '--name'])).split('\n').map((line) => line.trim()).filter(Boolean).sort();
}

/** Polls `probe` every 200 ms until it returns something other than undefined/false. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = BOUND_MS): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= until) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await sleep(200);
  }
}

export function waitForState(name: string, state: string, uri = QEMU_URI): Promise<true> {
  return waitFor(async () => (await domstate(name, uri)) === state || undefined, `${name} to be ${state}`);
}

/** Whether some process holds the VM's lock now (a non-blocking flock attempt fails). */
export async function lockHeld(name: string): Promise<boolean> {
  const ran = await execa('flock', ['--nonblock', '--exclusive', join(LOCK_DIR, `vm-${name}.lock`), 'true'], { reject: false });
  return ran.exitCode !== 0;
}

export function serialLogPath(name: string): string {
  return join(CONSOLE_DIR, `${name}.log`);
}

export function serialLog(name: string): string {
  const file = serialLogPath(name);
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** How many times `marker` appears in the guest's serial log. */
export function serialCount(name: string, marker = READY): number {
  return serialLog(name).split(marker).length - 1;
}

/** Waits until `marker` appears at least `count` times in the guest's serial log. */
export function waitForSerial(name: string, marker = READY, count = 1, timeoutMs = BOUND_MS): Promise<true> {
  return waitFor(() => serialCount(name, marker) >= count || undefined, `${count}× '${marker}' in ${serialLogPath(name)}`, timeoutMs);
}

// ---- files the guests use ----------------------------------------------------------------

/** Throws unless the guest assets are built from recipe 2 or later (virtio_balloon, guest_noacpid, ACPI line). */
export function requireGuestAssets(): void {
  const recipe = Number(existsSync(join(ASSETS, 'recipe')) ? readFileSync(join(ASSETS, 'recipe'), 'utf8').trim() : 0);
  if (!(recipe >= 2) || !existsSync(KERNEL) || !existsSync(INITRD)) {
    throw new Error(`guest assets in ${ASSETS} are missing or older than recipe 2: run scripts/libvirt-setup.sh assets`);
  }
}

/** A private copy of the container root directory (its /run/ready is per container). */
export async function containerRootfs(): Promise<string> {
  const dir = join(ASSETS, `t-rootfs-${token()}`);
  paths.add(dir);
  await execa('cp', ['-a', join(ASSETS, 'ct-rootfs'), dir]);
  rmSync(join(dir, 'run', 'ready'), { force: true });
  return dir;
}

/** An empty qcow2 disk image under the allowed image directories. */
export async function qcow2Disk(sizeMb = 64): Promise<string> {
  const file = join(ASSETS, `t-disk-${token()}.qcow2`);
  paths.add(file);
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', file, `${sizeMb}M`]);
  return file;
}

/** A file under the test assets that the test removes again (e.g. a symlink or a fake kernel). */
export function scratchPath(suffix: string): string {
  const file = join(ASSETS, `t-${token()}-${suffix}`);
  paths.add(file);
  return file;
}

// ---- cleanup ------------------------------------------------------------------------------

async function removeDomain(uri: string, name: string): Promise<void> {
  if ((await domstate(name, uri).catch(() => 'absent')) === 'absent') return;
  await execa('virsh', ['-c', uri, 'destroy', name], { reject: false });
  const flags = uri === QEMU_URI ? ['--managed-save', '--snapshots-metadata'] : [];
  await execa('virsh', ['-c', uri, 'undefine', name, ...flags], { reject: false });
}

/** Destroys and undefines every VM the tests made, on both drivers, and removes their files. */
export async function cleanup(): Promise<void> {
  const names = [...vms];
  vms.clear();
  await Promise.all(names.map(async (name) => {
    await removeDomain(QEMU_URI, name);
    await removeDomain(LXC_URI, name);
    rmSync(serialLogPath(name), { force: true });
  }));
  for (const path of paths) rmSync(path, { recursive: true, force: true });
  paths.clear();
}
