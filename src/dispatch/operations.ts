import { HvError } from '../core/errors.js';
import { FINISHED_STATES, type Operation, type OperationFilter, type Operations } from '../core/operations.js';
import { listJobs, readJob, type JobRecord, type ObservedJob } from './job-records.js';
import { compareText } from '../core/text-order.js';

// The operations a dispatcher knows: those it runs (kept in memory from their job records,
// so that a waiter is woken the moment one ends) and the records other processes, or this
// server before a restart, left in paths.jobs_dir (read from disk; a record whose writer is
// gone reads `lost`). The job records are the store: nothing here outlives the process.

export interface OperationStoreOptions {
  /** paths.jobs_dir of the configuration in use. */
  readonly jobsDir: () => string;
  /** Whether this process runs the request now, so that it can cancel it. */
  readonly runsHere: (id: string) => boolean;
  /** Cancels a request this process runs (dispatch's running requests). */
  readonly cancel: (id: string, by: string) => boolean;
  /** Finished operations are forgotten this long after they ended. */
  readonly retentionMs: () => number;
}

export type OperationListener = (operation: Operation) => void;

interface Live {
  record: JobRecord;
  ended: Promise<void>;
  end: () => void;
}

/** Records kept in memory at most; the oldest finished ones go first (the files stay until pruned). */
const MAX_LIVE = 10_000;
/** How often a waiter re-reads a record another process writes. */
const POLL_MS = 500;

export class OperationStore implements Operations {
  readonly #live = new Map<string, Live>();
  readonly #listeners = new Set<OperationListener>();

  constructor(private readonly options: OperationStoreOptions) {}

  /** Every record dispatch writes comes here: progress, then the outcome. */
  record(record: Readonly<JobRecord>): void {
    let live = this.#live.get(record.job_id);
    if (!live) {
      let end!: () => void;
      const ended = new Promise<void>((resolve) => (end = resolve));
      live = { record: { ...record }, ended, end };
      this.#live.set(record.job_id, live);
      this.#forgetOldest();
    } else live.record = { ...record };
    if (record.state !== 'running') live.end();
    const operation = this.#view(live.record);
    for (const listener of this.#listeners) listener(operation);
  }

  /** Called for every operation update (the events stream); returns the unsubscribe. */
  subscribe(listener: OperationListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  list(filter: OperationFilter = {}): Operation[] {
    const seen = new Set<string>();
    const operations: Operation[] = [];
    for (const live of this.#live.values()) {
      seen.add(live.record.job_id);
      operations.push(this.#view(live.record));
    }
    for (const record of listJobs(this.options.jobsDir())) {
      if (!seen.has(record.job_id)) operations.push(this.#view(record));
    }
    return operations
      .filter((operation) => matches(operation, filter))
      .sort((a, b) => compareText(b.created_at, a.created_at) || compareText(b.id, a.id));
  }

  get(id: string): Operation | undefined {
    const live = this.#live.get(id);
    if (live) return this.#view(live.record);
    const record = readJob(this.options.jobsDir(), id);
    return record && this.#view(record);
  }

  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Operation | undefined> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    for (;;) {
      const current = this.get(id);
      if (!current || FINISHED_STATES.includes(current.state) || Date.now() >= deadline || signal?.aborted) return current;
      const live = this.#live.get(id);
      // A record this process writes wakes us when it ends; one of another process is re-read.
      const wake = live ? live.ended : sleep(Math.min(POLL_MS, deadline - Date.now()));
      await raceWith(wake, deadline - Date.now(), signal);
    }
  }

  cancel(id: string, by: string): Operation {
    const current = this.get(id);
    if (!current) throw new HvError('NOT_FOUND', `No operation '${id}' on this host (finished ones are kept for operations.retention_s)`, { operation: id });
    if (current.state !== 'running') {
      throw new HvError('CONFLICT', `Operation '${id}' has already ended (${current.state}); there is nothing to cancel`, { operation: id, state: current.state });
    }
    if (!this.options.cancel(id, by)) {
      throw new HvError('CONFLICT', `Operation '${id}' runs in another process (pid ${this.#pidOf(id)}), not in this one: cancel it where it runs, or through hvagent serve`, { operation: id });
    }
    return this.get(id) ?? current;
  }

  /** Forgets finished operations older than the retention (their files are pruned by the next writer). */
  prune(now = Date.now()): void {
    const retention = this.options.retentionMs();
    for (const [id, live] of this.#live) {
      const finished = live.record.finished_at && Date.parse(live.record.finished_at);
      if (finished && now - finished > retention) this.#live.delete(id);
    }
  }

  #pidOf(id: string): number | string {
    return readJob(this.options.jobsDir(), id)?.pid ?? 'unknown';
  }

  #forgetOldest(): void {
    if (this.#live.size <= MAX_LIVE) return;
    for (const [id, live] of this.#live) {
      if (live.record.state !== 'running') {
        this.#live.delete(id);
        if (this.#live.size <= MAX_LIVE) return;
      }
    }
  }

  #view(record: JobRecord | ObservedJob): Operation {
    const runsHere = record.state === 'running' && this.options.runsHere(record.job_id);
    return {
      id: record.job_id,
      agent: record.agent,
      action: record.action,
      target: record.target,
      caller: record.caller,
      protocol: record.protocol,
      async: record.async === true,
      state: record.state,
      progress: { percent: record.percent, stage: record.phase, message: record.message },
      created_at: record.started_at,
      updated_at: record.updated_at,
      finished_at: record.finished_at,
      may_cancel: runsHere,
      result: record.result ?? null,
      error: record.error_code ? { code: record.error_code, message: record.error_message ?? '', details: record.error_details ?? null } : null,
    };
  }
}

function matches(operation: Operation, filter: OperationFilter): boolean {
  return (
    (filter.state === undefined || operation.state === filter.state) &&
    (filter.agent === undefined || operation.agent === filter.agent) &&
    (filter.action === undefined || operation.action === filter.action) &&
    (filter.target === undefined || operation.target === filter.target)
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}

/** Waits for `wake`, at most `ms`, and no longer than the signal lets it. */
async function raceWith(wake: Promise<void>, ms: number, signal?: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      wake,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms)))),
      new Promise<void>((resolve) => {
        onAbort = () => resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
