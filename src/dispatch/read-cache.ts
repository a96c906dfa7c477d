import type { Reply } from '../core/reply.js';

// Warm reads for a long-running process (the server): the reply of a read is kept and
// served again until something may have changed it. Every change this process makes (a
// mutating request ending) and every change libvirt reports (its event stream) starts a
// new generation, which drops every entry; a reply computed across a change is not kept.
// Concurrent requests for the same read share one computation. Requests are validated
// and authorized before they get here: a cached reply is never served to a caller that
// could not have asked for it.

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
  readonly generation: number;
  /** When it was computed; undefined while it is being computed. */
  at: number | undefined;
  readonly reply: Promise<Reply>;
}

export class ReadCache {
  #generation = 0;
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly options: ReadCacheOptions) {}

  /** Something changed: nothing computed before now is served again. */
  invalidate(): void {
    this.#generation += 1;
    this.#entries.clear();
  }

  read(agent: string, action: string, inputs: Readonly<Record<string, unknown>>, compute: () => Promise<Reply>): Promise<Reply> {
    const ttl = this.options.ttlMs(agent, action);
    if (ttl === undefined) return compute();
    const key = `${agent}#${action}#${canonical(inputs)}`;
    const entry = this.#entries.get(key);
    if (entry && entry.generation === this.#generation && (entry.at === undefined || Date.now() - entry.at < ttl)) return entry.reply;
    const generation = this.#generation;
    const reply = compute();
    const fresh: Entry = { generation, at: undefined, reply };
    this.#entries.delete(key);
    this.#entries.set(key, fresh);
    const max = this.options.maxEntries ?? 1000;
    if (this.#entries.size > max) this.#entries.delete(this.#entries.keys().next().value!);
    const forget = () => {
      if (this.#entries.get(key)?.reply === reply) this.#entries.delete(key);
    };
    // A failure is not kept, and neither is what was read while something changed.
    reply.then((answer) => {
      fresh.at = Date.now();
      if (answer.statuscode !== 0 || generation !== this.#generation || ttl === 0) forget();
    }, forget);
    return reply;
  }
}

function canonical(inputs: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(Object.keys(inputs).sort().map((key) => [key, inputs[key]]));
}
