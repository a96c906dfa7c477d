import { constants, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { mustLocate } from '../libvirt/domains/locate.js';
import { parseDomainXml } from '../libvirt/parse/domain.js';
import { virsh } from '../libvirt/virsh.js';

// The serial console log of each QEMU guest hvagent defines: one file per VM in
// paths.console_log_dir, appended across boots. It goes with the VM, and its end is read
// for callers that cannot attach a terminal (vm console_log).

/** Whether `path` is a log in hvagent's own directory (and so hvagent's to read or remove). */
function isOwnLog(config: HvConfig, path: string): boolean {
  return dirname(resolve(path)) === resolve(config.paths.console_log_dir);
}

/** A VM's console log goes with the VM, but only a log hvagent's own directory holds. */
export function removeConsoleLog(config: HvConfig, path: string | null): void {
  const own = ownConsoleLog(config, path);
  if (own) rmSync(own, { force: true });
}

/** `path` when it is a log of hvagent's own directory, else null. */
export function ownConsoleLog(config: HvConfig, path: string | null): string | null {
  return path && isOwnLog(config, path) ? path : null;
}

export interface ConsoleTail {
  /** The log file. */
  path: string;
  lines: string[];
  /** The log holds more before these lines. */
  earlier: boolean;
}

const CHUNK_BYTES = 64 * 1024;
/** The most read from the end, whatever the lines asked for: a reply must stay small. */
export const MAX_TAIL_BYTES = 512 * 1024;

/** The last `lines` lines a VM's serial console printed. */
export async function consoleLogTail(config: HvConfig, name: string, lines: number, signal: AbortSignal): Promise<ConsoleTail> {
  const vm = await mustLocate(config, name, signal);
  if (vm.driver === 'lxc') throw new HvError('UNSUPPORTED', `'${name}' is a container: it has no serial console log (attach with vm console at the host)`);
  const path = parseDomainXml(await virsh(vm.uri, ['dumpxml', '--inactive', name], signal)).console_log;
  if (!path) throw new HvError('NOT_FOUND', `'${name}' has no serial console log (its serial port logs to no file)`);
  if (!isOwnLog(config, path)) {
    throw new HvError('NOT_AUTHORIZED', `The console log of '${name}' (${path}) is outside paths.console_log_dir (${config.paths.console_log_dir}): hvagent reads only its own`);
  }
  return { path, ...(await tailLines(path, lines)) };
}

/** The last `count` lines of a file, read backwards from its end in chunks; never through a symlink. */
export async function tailLines(path: string, count: number, maxBytes = MAX_TAIL_BYTES): Promise<{ lines: string[]; earlier: boolean }> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    // Not started yet since it was defined: nothing printed.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], earlier: false };
    throw new HvError('HYPERVISOR_ERROR', `Cannot read the console log ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new HvError('HYPERVISOR_ERROR', `The console log ${path} is not a regular file`);
    const chunks: Buffer[] = [];
    let position = stats.size;
    let newlines = 0;
    let read = 0;
    // One newline more than the lines wanted marks where the first of them starts.
    while (position > 0 && newlines <= count && read < maxBytes) {
      const length = Math.min(CHUNK_BYTES, position, maxBytes - read);
      position -= length;
      const chunk = Buffer.alloc(length);
      const { bytesRead } = await handle.read(chunk, 0, length, position);
      const got = chunk.subarray(0, bytesRead);
      chunks.unshift(got);
      read += bytesRead;
      for (const byte of got) if (byte === 0x0a) newlines += 1;
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop(); // the file's last newline ends a line, it starts none
    if (position > 0) all.shift(); // the first piece began mid-line
    const lines = all.slice(-count).map(printableLine);
    return { lines, earlier: position > 0 || all.length > count };
  } finally {
    await handle.close();
  }
}

/**
 * A line as text: terminal escape sequences (colours, cursor moves) and control characters
 * other than tabs removed; the carriage return of a serial CRLF too.
 */
export function printableLine(line: string): string {
  return line
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, '')
    .replace(/\u001b[@-_]/g, '')
    .replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '');
}
