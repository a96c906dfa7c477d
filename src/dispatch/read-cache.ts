import type { Reply } from '../core/reply.js';

// Warm reads for a long-running process (the server): the reply of a read is kept and
// served again until something may have changed it.
//   - A change this process made (a mutating request ending) drops every reply at once
//     (`invalidate`): the caller who changed something reads its own change next.
//   - A change libvirt reports (its event stream) makes every reply stale (`refresh`): the
//     next read of it still gets the last reply while one recomputation runs in the
//     background, and the one after gets the new reply. On a busy host events come all the
//     time; recomputing on each would mean no reply is ever warm.
// A reply computed across an `invalidate` is never kept; concurrent requests for the same
// read share one computation. Requests are validated and authorized before they get here:
// a cached reply is never served to a caller that could not have asked for it.

export interface ReadCacheOptions {
  /**
   * How long a reply of this action may be served again (ms); 0: only shared by the requests
   * that arrive while it is being computed; undefined: never shared.
   */
  readonly ttlMs: (agent: string, action: string) => number | undefined;
  /** Entries kept at most (distinct action and inputs); the oldest go first. */
  readonly maxEntries?: number;
}

interface Entry {
  /** The `refresh` generation it was computed in: older is stale. */
  readonly generation: number;
  /** When it was computed; undefined while it is being computed. */
  at: number | undefined;
  readonly reply: Promise<Reply>;
  /** A recomputation of a stale entry, running in the background. */
  refreshing?: boolean;
}

export class ReadCache {
  /** Bumped by every change seen: refresh and invalidate. */
  #generation = 0;
  /** Bumped by invalidate only: a computation started before it is never kept. */
  #epoch = 0;
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly options: ReadCacheOptions) {}

  /** This process changed something: nothing computed before now is served again. */
  invalidate(): void {
    this.#generation += 1;
    this.#epoch += 1;
    this.#entries.clear();
  }

  /** Something changed outside: replies are stale, recomputed on their next read. */
  refresh(): void {
    this.#generation += 1;
  }

  read(agent: string, action: string, inputs: Readonly<Record<string, unknown>>, compute: () => Promise<Reply>): Promise<Reply> {
    const ttl = this.options.ttlMs(agent, action);
    if (ttl === undefined) return compute();
    const key = `${agent}#${action}#${canonical(inputs)}`;
    const entry = this.#entries.get(key);
    if (entry) {
      if (entry.at === undefined) return entry.reply;
      const young = Date.now() - entry.at < ttl;
      if (young && entry.generation === this.#generation) return entry.reply;
      if (young) {
        // Stale: served as it is while one recomputation runs.
        if (!entry.refreshing) {
          entry.refreshing = true;
          this.#start(key, compute, ttl, true);
        }
        return entry.reply;
      }
    }
    return this.#start(key, compute, ttl, false);
  }

  #start(key: string, compute: () => Promise<Reply>, ttl: number, background: boolean): Promise<Reply> {
    const generation = this.#generation;
    const epoch = this.#epoch;
    const reply = compute();
    const fresh: Entry = { generation, at: undefined, reply };
    if (!background) this.#put(key, fresh);
    const done = (answer: Reply | undefined) => {
      fresh.at = Date.now();
      const keep = answer?.statuscode === 0 && epoch === this.#epoch && ttl > 0;
      if (keep && background) this.#put(key, fresh);
      else if (!keep && this.#entries.get(key) === fresh) this.#entries.delete(key);
      if (!keep && background) {
        const stale = this.#entries.get(key);
        if (stale) stale.refreshing = false;
      }
    };
    reply.then(done, () => done(undefined));
    return reply;
  }

  #put(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > (this.options.maxEntries ?? 1000)) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

function canonical(inputs: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(Object.keys(inputs).sort().map((key) => [key, inputs[key]]));
}
