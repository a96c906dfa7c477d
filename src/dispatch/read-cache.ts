import type { Reply } from '../core/reply.js';

// Warm reads for a long-running process (the server): the reply of a read is kept and
// served again until something may have changed it.
//   - A change this process made (a mutating request ending) drops every reply at once
//     (`invalidate`): the caller who changed something reads its own change next.
//   - A change libvirt reports (its event stream) makes every reply stale (`refresh`): the
//     replies read lately are recomputed in the background, at most once a second, and
//     served as they were meanwhile; a reply past its ttl is served once more while it is
//     recomputed. On a busy host events come all the time: recomputing on every read
//     would leave no reply warm, and a reader would wait for virsh.
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
  /** Least time between two recomputations after outside changes (default 1 s). */
  readonly minRefreshMs?: number;
}

interface Entry {
  /** The generation it was computed in: older is stale. */
  readonly generation: number;
  /** When it was computed; undefined while it is being computed. */
  at: number | undefined;
  readonly reply: Promise<Reply>;
  readonly compute: () => Promise<Reply>;
  readonly ttl: number;
  /** Last served: entries nobody reads are dropped on a change rather than recomputed. */
  readAt: number;
  /** A recomputation running in the background. */
  refreshing?: boolean;
}

/** Read within this long: kept warm through changes. */
const ACTIVE_MS = 60_000;
/** How much older than its ttl a reply may be served while it is recomputed. */
const STALE_FACTOR = 12;

export class ReadCache {
  /** Bumped by every change seen: refresh and invalidate. */
  #generation = 0;
  /** Bumped by invalidate only: a computation started before it is never kept. */
  #epoch = 0;
  readonly #entries = new Map<string, Entry>();
  #refreshTimer: NodeJS.Timeout | undefined;
  #lastRefresh = 0;

  constructor(private readonly options: ReadCacheOptions) {}

  /** This process changed something: nothing computed before now is served again. */
  invalidate(): void {
    this.#generation += 1;
    this.#epoch += 1;
    this.#entries.clear();
  }

  /**
   * Something changed outside (a libvirt event): the replies read lately are recomputed in
   * the background, at most once per minRefreshMs however many events come; until then
   * they are served as they were. The others are dropped.
   */
  refresh(): void {
    this.#generation += 1;
    if (this.#refreshTimer) return;
    const wait = Math.max(0, this.#lastRefresh + (this.options.minRefreshMs ?? 1000) - Date.now());
    this.#refreshTimer = setTimeout(() => this.#refreshAll(), wait);
    this.#refreshTimer.unref?.();
  }

  read(agent: string, action: string, inputs: Readonly<Record<string, unknown>>, compute: () => Promise<Reply>): Promise<Reply> {
    const ttl = this.options.ttlMs(agent, action);
    if (ttl === undefined) return compute();
    const key = `${agent}#${action}#${canonical(inputs)}`;
    const entry = this.#entries.get(key);
    const now = Date.now();
    if (entry && ttl > 0) {
      entry.readAt = now;
      if (entry.at === undefined) return entry.reply;
      const age = now - entry.at;
      // Stale by a change: its recomputation is on its way (refresh). Past its ttl: served
      // once more while it is recomputed, up to STALE_FACTOR times the ttl (a poll less
      // frequent than the ttl gets what the previous poll started).
      if (age < ttl) return entry.reply;
      if (age < STALE_FACTOR * ttl) {
        this.#recompute(key, entry);
        return entry.reply;
      }
    } else if (entry?.at === undefined && entry) return entry.reply;
    return this.#start(key, compute, ttl, false);
  }

  #refreshAll(): void {
    this.#refreshTimer = undefined;
    this.#lastRefresh = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.generation === this.#generation || entry.at === undefined) continue;
      if (this.#lastRefresh - entry.readAt < ACTIVE_MS) this.#recompute(key, entry);
      else this.#entries.delete(key);
    }
  }

  #recompute(key: string, entry: Entry): void {
    if (entry.refreshing) return;
    entry.refreshing = true;
    this.#start(key, entry.compute, entry.ttl, true, entry.readAt);
  }

  #start(key: string, compute: () => Promise<Reply>, ttl: number, background: boolean, readAt = Date.now()): Promise<Reply> {
    const generation = this.#generation;
    const epoch = this.#epoch;
    const reply = compute();
    const fresh: Entry = { generation, at: undefined, reply, compute, ttl, readAt };
    if (!background) this.#put(key, fresh);
    const done = (answer: Reply | undefined) => {
      fresh.at = Date.now();
      const keep = answer?.statuscode === 0 && epoch === this.#epoch && ttl > 0;
      const current = this.#entries.get(key);
      if (keep && background) this.#put(key, { ...fresh, readAt: current?.readAt ?? readAt });
      else if (!keep && current === fresh) this.#entries.delete(key);
      if (!keep && background && current) current.refreshing = false;
      // Changes seen while it was computed: it is stale already.
      if (keep && generation !== this.#generation) this.refresh();
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
