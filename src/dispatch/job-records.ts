import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../process/identity.js';
import { compareText } from '../core/text-order.js';

// A job record: one JSON file per request in paths.jobs_dir, the contract of the future
// jobs API (docs/JOBS.md). Writers replace the file atomically (temp + rename), so a
// reader sees either the previous record or the next one, never half of one.

export const JOB_FORMAT = 1;
export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobRecord {
  format: typeof JOB_FORMAT;
  job_id: string;
  request_id: string | null;
  agent: string;
  action: string;
  target: string | null;
  caller: string | null;
  protocol: string;
  state: JobState;
  phase: string;
  percent: number | null;
  message: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
  pid: number;
  /** The process's start time in clock ticks after boot (/proc/PID/stat field 22): a reused pid is not mistaken for the writer. */
  pid_start: number | null;
  error_code: string | null;
  error_message: string | null;
  /** Added by later writers (readers of format 1 treat them as absent): started detached (an operation). */
  async?: boolean;
  /** The action's outputs, kept for an operation until the record is pruned. */
  result?: Record<string, unknown> | null;
  error_details?: Record<string, unknown> | null;
}

/** What a reader sees: a running record whose process is gone was lost (killed, a server restart, a host crash). */
export type ObservedJob = Omit<JobRecord, 'state'> & { state: JobState | 'lost' };

/** Request ids that can name a file: no separators, no leading dot, nothing a shell or a path would read. */
export const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Finished and lost records are kept this long after their last update (default; `operations.retention_s`). */
export const RETENTION_MS = 24 * 60 * 60 * 1000;
const TEMP_RETENTION_MS = 60 * 60 * 1000;

export function jobFile(directory: string, jobId: string): string {
  return join(directory, `${jobId}.json`);
}

/** Whether the process that wrote a record still runs (and is the same process). */
export function writerAlive(record: Pick<JobRecord, 'pid' | 'pid_start'>): boolean {
  return processAlive(record.pid, record.pid_start);
}

export function observe(record: JobRecord): ObservedJob {
  return record.state === 'running' && !writerAlive(record) ? { ...record, state: 'lost' } : record;
}

/** One record as a reader sees it, or undefined when there is none (or it is not a record). */
export function readJob(directory: string, jobId: string): ObservedJob | undefined {
  if (!JOB_ID.test(jobId)) return undefined;
  try {
    const record = JSON.parse(readFileSync(jobFile(directory, jobId), 'utf8')) as JobRecord;
    return record.format === JOB_FORMAT ? observe(record) : undefined;
  } catch {
    return undefined;
  }
}

/** Every record in the directory, newest update first. */
export function listJobs(directory: string): ObservedJob[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.json'))
    .map((name) => readJob(directory, name.slice(0, -'.json'.length)))
    .filter((job): job is ObservedJob => job !== undefined)
    .sort((a, b) => compareText(b.updated_at, a.updated_at));
}

/**
 * Removes records finished or lost more than `retentionMs` ago, and temp files a
 * killed writer left. A record whose writer still runs is kept, however old.
 */
export function pruneJobs(directory: string, now = Date.now(), retentionMs = RETENTION_MS): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(directory, name);
    try {
      const age = now - statSync(path).mtimeMs;
      const temp = name.endsWith('.tmp');
      if (age < (temp ? TEMP_RETENTION_MS : retentionMs)) continue;
      if (!temp) {
        if (!name.endsWith('.json')) continue;
        const job = readJob(directory, name.slice(0, -'.json'.length));
        if (job?.state === 'running') continue;
      }
      unlinkSync(path);
      removed += 1;
    } catch {
      // Another process pruned or replaced it meanwhile.
    }
  }
  return removed;
}
