import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { compareText } from '../core/text-order.js';

// A job record: one JSON file per request in paths.jobs_dir, the contract of the future
// jobs API (docs/JOBS.md). Writers replace the file atomically (temp + rename), so a
// reader sees either the previous record or the next one, never half of one.

export const JOB_FORMAT = 1;
export type JobState = 'running' | 'succeeded' | 'failed';

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
}

/** What a reader sees: a running record whose process is gone was abandoned (killed, host crash). */
export type ObservedJob = Omit<JobRecord, 'state'> & { state: JobState | 'abandoned' };

/** Request ids that can name a file: no separators, no leading dot, nothing a shell or a path would read. */
export const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Finished and abandoned records are kept this long after their last update. */
export const RETENTION_MS = 24 * 60 * 60 * 1000;
const TEMP_RETENTION_MS = 60 * 60 * 1000;

export function jobFile(directory: string, jobId: string): string {
  return join(directory, `${jobId}.json`);
}

export function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote a record still runs (and is the same process). */
export function writerAlive(record: Pick<JobRecord, 'pid' | 'pid_start'>): boolean {
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (record.pid_start === null) return true;
  return processStart(record.pid) === record.pid_start;
}

export function observe(record: JobRecord): ObservedJob {
  return record.state === 'running' && !writerAlive(record) ? { ...record, state: 'abandoned' } : record;
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
 * Removes records finished or abandoned more than RETENTION_MS ago, and temp files a
 * killed writer left. A record whose writer still runs is kept, however old.
 */
export function pruneJobs(directory: string, now = Date.now()): number {
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
      if (age < (temp ? TEMP_RETENTION_MS : RETENTION_MS)) continue;
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
