import { closeSync, constants, fstatSync, mkdirSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditConfig } from '../config/schema.js';
import type { Reply } from '../core/reply.js';
import { MIDDLEWARE_PROTOCOLS, processCaller, type Protocol, type RpcRequest } from '../core/request.js';
import type { ActionDdl } from '../ddl/types.js';

// One JSON line per request, whatever protocol carried it and however it ended
// (docs/AUDIT.md). The line is one write(2) to a file opened O_APPEND, so lines from
// concurrent agents never interleave (the file stays open between lines: appendLine), and nothing here can fail or hold up a request: an
// error is counted and reported once per process through the adapter (the MCollective
// runner takes the first stderr line as the status message, so dispatch never writes it).

export const AUDIT_FORMAT = 1;
const MAX_VALUE_CHARS = 256;
const MAX_LINE_BYTES = 16 * 1024;
export const REDACTED = '[secret]';
const UNDECLARED = '[undeclared]';

/** The inputs that name what a request acts on, and what kind of object each names. */
const TARGET_INPUTS: Record<string, string | undefined> = {
  name: undefined,
  pool: 'pool',
  volume: 'volume',
  network: 'network',
  template: 'template',
  ref: 'template',
  snapshot: 'snapshot',
  bridge: 'bridge',
  source_vm: 'vm',
};

export interface AuditRecord {
  format: number;
  time: string;
  request_id: string | null;
  caller: string | null;
  /** A caller id the body claimed where its transport does not prove one: a hint of spoofing, never trusted. */
  claimed_caller?: string;
  protocol: string;
  agent: string | null;
  action: string | null;
  inputs: Record<string, unknown> | null;
  outcome: string;
  statuscode: number;
  message?: string;
  changed: boolean | null;
  /** The first reply of this request id was returned; nothing ran. */
  replayed?: boolean;
  duration_ms: number;
  targets: string[];
  pid: number;
}

export interface AuditState {
  failures: number;
  /** The first failure's message, for the adapter to show once. */
  warning?: string;
}

/**
 * The inputs as the audit shows them: secret inputs (DDL `secret: true`) and undeclared
 * ones replaced, long values cut. Without the action (an unknown one) no value is shown.
 */
export function redactInputs(data: unknown, action: ActionDdl | undefined): Record<string, unknown> | null {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
  const shown: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(data as Record<string, unknown>)) {
    if (name === 'process_results') continue;
    const input = action?.input[name];
    if (!input) shown[name] = UNDECLARED;
    else if (input.secret) shown[name] = REDACTED;
    else shown[name] = typeof value === 'string' ? shortened(withoutUserinfo(value)) : value;
  }
  return shown;
}

/** A URL's user:password@ (a download source may carry one) never reaches the log. */
function withoutUserinfo(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#@]*@/, `$1${REDACTED}@`);
}

function shortened(value: string): string {
  return value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}…` : value;
}

export function targetsOf(agent: string | null, inputs: Record<string, unknown> | null, action: ActionDdl | undefined): string[] {
  if (!inputs || !action) return [];
  const targets: string[] = [];
  for (const [name, kind] of Object.entries(TARGET_INPUTS)) {
    const value = inputs[name];
    if (typeof value !== 'string' || !action.input[name] || action.input[name]!.secret) continue;
    targets.push(`${kind ?? agent}:${value}`);
  }
  return targets;
}

/** `provenCaller`: who the transport proved when no request was read (REST's own refusals). */
export function auditRecord(request: RpcRequest | undefined, action: ActionDdl | undefined, reply: Reply, startedAt: number, protocol: Protocol, replayed: boolean, provenCaller?: string): AuditRecord {
  const inputs = request ? redactInputs(request.data ?? {}, action) : null;
  const changed = reply.data.changed;
  return {
    format: AUDIT_FORMAT,
    time: new Date(startedAt).toISOString(),
    request_id: request?.requestid ?? null,
    // A request refused before it parsed still has the caller its transport proved, where that
    // is the process (stdio, CLI); the server is not its client.
    caller: request?.callerid ?? provenCaller ?? (MIDDLEWARE_PROTOCOLS.includes(protocol) || protocol === 'rest' ? null : processCaller()),
    ...(request?.claimedCallerid && { claimed_caller: request.claimedCallerid }),
    protocol: request?.protocol ?? protocol,
    agent: request?.agent ?? null,
    action: request?.action ?? null,
    inputs,
    outcome: reply.statuscode === 0 ? 'OK' : String(reply.data.error_code ?? 'ERROR'),
    statuscode: reply.statuscode,
    ...(reply.statuscode !== 0 && { message: reply.statusmsg.slice(0, 512) }),
    changed: typeof changed === 'boolean' ? changed : null,
    ...(replayed && { replayed: true }),
    duration_ms: Math.max(0, Date.now() - startedAt),
    targets: targetsOf(request?.agent ?? null, inputs, action),
    pid: process.pid,
  };
}

/** Appends one line; never throws. */
export function writeAudit(config: AuditConfig | undefined, record: AuditRecord, state: AuditState): void {
  if (config && !config.enabled) return;
  const file = config?.file ?? '/var/log/hvagent/audit.log';
  let line = `${JSON.stringify(record)}\n`;
  // A UTF-16 unit is at most 3 bytes of UTF-8: Buffer.byteLength (compiled on its first use) only where it can matter.
  if (line.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(line) > MAX_LINE_BYTES) line = `${JSON.stringify({ ...record, inputs: { truncated: true } })}\n`;
  try {
    appendLine(file, line);
  } catch (error) {
    state.failures += 1;
    state.warning ??= `hvagent: cannot write the audit log ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); requests go on unrecorded there`;
  }
  if (config?.syslog) {
    const sending = sendToSyslog(line, config.syslog_socket).catch(() => undefined);
    pendingSyslog.add(sending);
    void sending.finally(() => pendingSyslog.delete(sending));
  }
}

/**
 * A process's first line is one call that opens, writes and closes in C++ (Node's
 * writeFileSync for a string): a per-request agent writes one line, and Node's JavaScript
 * open and write would be compiled for it on every start. From the second line on (the
 * server writes one per request) the file stays open between lines. Before each line
 * the path's inode is compared with the open file's: a rotation that renames the file or
 * removes it (logrotate's default) gets a new file at once, with no signal or restart;
 * one that truncates it in place (copytruncate) needs nothing, O_APPEND writes at its new end.
 */
let current: { file: string; descriptor: number; dev: number; ino: number } | undefined;
let firstLineWritten = false;

// O_NONBLOCK: a FIFO put in the log's place fails at once instead of waiting for a reader.
// (Node takes open(2) flags as a number wherever it takes a flag string; its types say string.)
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOCTTY | constants.O_NONBLOCK;

function appendLine(file: string, line: string): void {
  if (!firstLineWritten) {
    withLogDirectory(file, () => writeFileSync(file, line, { encoding: 'utf8', flag: APPEND_FLAGS as unknown as string, mode: 0o640 }));
    firstLineWritten = true;
    return;
  }
  if (current) {
    const named = statSync(file, { throwIfNoEntry: false });
    if (current.file !== file || !named || named.ino !== current.ino || named.dev !== current.dev) closeCurrent();
  }
  current ??= openAudit(file);
  try {
    writeSync(current.descriptor, line);
  } catch (error) {
    // Opened again for the next line: whatever failed (a full disk, a removed mount) may be over.
    closeCurrent();
    throw error;
  }
}

function openAudit(file: string): NonNullable<typeof current> {
  const descriptor = withLogDirectory(file, () => openSync(file, APPEND_FLAGS, 0o640));
  const { dev, ino } = fstatSync(descriptor);
  return { file, descriptor, dev, ino };
}

/** `open`, and once more after making the log's directory if it was missing. */
function withLogDirectory<T>(file: string, open: () => T): T {
  try {
    return open();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // One level only (/var/log/hvagent): Node's recursive mkdir never ends where mkdir
    // fails with ENOENT under a parent that exists, as in /proc.
    mkdirSync(dirname(file), { mode: 0o750 });
    return open();
  }
}

function closeCurrent(): void {
  if (!current) return;
  try {
    closeSync(current.descriptor);
  } catch {
    // already unusable
  }
  current = undefined;
}

const pendingSyslog = new Set<Promise<unknown>>();

/**
 * logger(1), at authpriv.info: a per-request process sends it before it exits (see
 * settleAudit). logger cuts a message at 1 KiB unless told otherwise: a line may be 16 KiB.
 */
async function sendToSyslog(line: string, socket: string | undefined): Promise<void> {
  const { runProcess } = await import('../process/run.js');
  const where = socket === undefined ? [] : ['--socket', socket];
  await runProcess('logger', ['--tag', 'hvagent-audit', '--priority', 'authpriv.info', '--size', String(MAX_LINE_BYTES), ...where, '--', line.trimEnd()], { timeoutMs: 2000 });
}

/** Waits (2 s at most) for the syslog lines still being sent. */
export async function settleAudit(): Promise<void> {
  await Promise.allSettled([...pendingSyslog]);
}
