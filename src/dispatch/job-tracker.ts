import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { HvConfig } from '../config/schema.js';
import { processStart } from '../process/identity.js';
import { JOB_FORMAT, JOB_ID, jobFile, pruneJobs, readJob, type JobRecord } from './job-records.js';
import type { ProgressReporter, ProgressUpdate } from '../core/progress.js';
import type { RpcRequest } from '../core/request.js';

// The job record of one request (job-records.ts, docs/JOBS.md), kept from the progress its
// action reports. Nothing is written for an action that never reports and ends quickly:
// the agent's start-up budget has no room for file work on every request.

export type JobOutcome =
  | { ok: true; result?: Record<string, unknown> }
  | { ok: false; code: string; message: string; details?: Record<string, unknown> | undefined };

export interface JobTracker {
  readonly report: ProgressReporter;
  /** Called once by dispatch with the action's outcome; later reports are ignored. */
  finish(outcome: JobOutcome): void;
}

export interface JobOptions {
  /** Sees every record written (the CLI shows it on stderr). */
  onRecord?: (record: Readonly<JobRecord>) => void;
  /** An action still running after this long gets a record even if it never reports. */
  longActionMs?: number;
  /** Least time between two writes of the record. */
  minIntervalMs?: number;
  /** The record's id (an operation's): dispatch has chosen it. */
  jobId?: string;
  /** An operation: its record is written at once (a restart finds it `lost`, never missing), and keeps its result. */
  operation?: boolean;
  /** Finished and lost records older than this are pruned when a record is first written (`operations.retention_s`). */
  retentionMs?: number;
}

export const LONG_ACTION_MS = 5000;
export const MIN_WRITE_INTERVAL_MS = 250;
const PHASE = /^[a-z][a-z0-9_-]{0,31}$/;
const MAX_MESSAGE = 512;

let generated = 0;

/** A job id for a request that has no usable one: unique on this host (time, pid, counter). */
export function newJobId(): string {
  generated += 1;
  return `hv-${Date.now().toString(36)}-${process.pid.toString(36)}-${generated.toString(36)}`;
}

/** The reporter of one request: cheap until the action reports or runs long. */
export function startJob(request: RpcRequest, config: HvConfig, inputs: Record<string, unknown>, options: JobOptions = {}): JobTracker {
  const startedAt = new Date().toISOString();
  const minInterval = options.minIntervalMs ?? MIN_WRITE_INTERVAL_MS;
  let record: JobRecord | undefined;
  let lastWrite = 0;
  let trailing: NodeJS.Timeout | undefined;
  let finished = false;
  let failedToWrite = false;

  const create = (): JobRecord => {
    const directory = config.paths.jobs_dir;
    mkdirSync(directory, { recursive: true, mode: 0o750 });
    pruneJobs(directory, Date.now(), options.retentionMs);
    return {
      format: JOB_FORMAT,
      job_id: options.jobId ?? jobIdFor(request, directory),
      request_id: request.requestid ?? null,
      agent: request.agent,
      action: request.action,
      // What the request acts on: a VM or volume by name, a template by ref.
      target: typeof inputs.name === 'string' ? inputs.name : typeof inputs.ref === 'string' ? inputs.ref : null,
      caller: request.callerid ?? null,
      protocol: request.protocol,
      state: 'running',
      phase: 'started',
      percent: null,
      message: null,
      started_at: startedAt,
      updated_at: startedAt,
      finished_at: null,
      pid: process.pid,
      pid_start: processStart(process.pid),
      error_code: null,
      error_message: null,
      ...(options.operation && { async: true, result: null, error_details: null }),
    };
  };

  const write = (): void => {
    clearTimeout(trailing);
    trailing = undefined;
    lastWrite = Date.now();
    try {
      record ??= create();
      record.updated_at = new Date(lastWrite).toISOString();
      const file = jobFile(config.paths.jobs_dir, record.job_id);
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, `${JSON.stringify(record)}\n`, { mode: 0o640 });
      try {
        renameSync(temp, file);
      } catch (error) {
        unlinkSync(temp);
        throw error;
      }
    } catch (error) {
      // Progress is a report, not the work: a full or read-only jobs_dir never fails an action.
      if (!failedToWrite) process.emitWarning(`hvagent: progress not recorded in ${config.paths.jobs_dir}: ${(error as Error).message}`);
      failedToWrite = true;
    }
    if (record) options.onRecord?.(record);
  };

  // Throttled: the first update is written at once, later ones at most every minInterval,
  // and the last of a burst is never lost (a trailing write, or the final one).
  const writeSoon = (): void => {
    const wait = lastWrite + minInterval - Date.now();
    if (wait <= 0) return write();
    trailing ??= setTimeout(write, wait).unref();
  };

  let pending: ProgressUpdate = { phase: 'started' };
  const apply = (): void => {
    record ??= create();
    record.phase = pending.phase;
    record.percent = pending.percent ?? null;
    record.message = pending.message ?? null;
  };

  const long = setTimeout(() => {
    if (!record && !finished) writeSoon();
  }, options.longActionMs ?? LONG_ACTION_MS).unref();
  if (options.operation) write();

  return {
    report(update) {
      if (finished) return;
      pending = cleanUpdate(update);
      try {
        apply();
      } catch (error) {
        if (!failedToWrite) process.emitWarning(`hvagent: progress not recorded in ${config.paths.jobs_dir}: ${(error as Error).message}`);
        failedToWrite = true;
        return;
      }
      writeSoon();
    },
    finish(outcome) {
      if (finished) return;
      finished = true;
      clearTimeout(long);
      clearTimeout(trailing);
      if (!record) return;
      const now = new Date().toISOString();
      record.state = outcome.ok ? 'succeeded' : outcome.code === 'CANCELLED' ? 'cancelled' : 'failed';
      record.finished_at = now;
      if (outcome.ok) {
        if (options.operation) record.result = outcome.result ?? null;
      } else {
        record.error_code = outcome.code;
        record.error_message = truncate(outcome.message);
        if (options.operation) record.error_details = outcome.details ?? null;
      }
      write();
    },
  };
}

function cleanUpdate(update: ProgressUpdate): ProgressUpdate {
  const phase = PHASE.test(update.phase) ? update.phase : 'working';
  const percent = typeof update.percent === 'number' && Number.isFinite(update.percent) ? Math.round(Math.min(100, Math.max(0, update.percent)) * 10) / 10 : undefined;
  const message = typeof update.message === 'string' ? truncate(update.message) : undefined;
  return { phase, ...(percent !== undefined && { percent }), ...(message !== undefined && { message }) };
}

function truncate(text: string): string {
  const printable = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return printable.length > MAX_MESSAGE ? `${printable.slice(0, MAX_MESSAGE - 1)}…` : printable;
}

/** The request's own id when it can name a file that no other live request holds; else a new one. */
function jobIdFor(request: RpcRequest, directory: string): string {
  const wanted = request.requestid;
  if (!wanted || !JOB_ID.test(wanted)) return newJobId();
  const existing = readJob(directory, wanted);
  return existing?.state === 'running' && existing.pid !== process.pid ? newJobId() : wanted;
}
