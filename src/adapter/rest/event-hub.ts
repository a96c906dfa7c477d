// The server's events, fanned out to every reader of /v1/events. Each reader has its own
// bounded backlog: one that falls further behind than that is dropped (told why, when it
// can still hear it), so a slow reader never makes the server's memory grow.

export interface ServerEvent {
  /** `operation` (an operation started, progressed or ended) or `vm` (libvirt's lifecycle events). */
  readonly type: 'operation' | 'vm';
  readonly time: string;
  /** For vm events: started, stopped, crashed, defined, undefined, suspended, resumed, shutdown…; for operations their state. */
  readonly name: string;
  /** The VM, or the operation's target. */
  readonly target: string | null;
  readonly data: Record<string, unknown>;
}

export interface EventFilter {
  readonly types?: ReadonlySet<string> | undefined;
  readonly target?: string | undefined;
  readonly operation?: string | undefined;
}

export class Subscription {
  readonly #queue: ServerEvent[] = [];
  #wake: (() => void) | undefined;
  #closed: string | undefined;

  constructor(
    readonly filter: EventFilter,
    private readonly maxBacklog: number,
    private readonly onClose: (subscription: Subscription) => void,
  ) {}

  /** Why it ended (dropped, server stopping), or undefined while it runs. */
  get closed(): string | undefined {
    return this.#closed;
  }

  offer(event: ServerEvent): void {
    if (this.#closed || !accepts(this.filter, event)) return;
    if (this.#queue.length >= this.maxBacklog) {
      this.close(`dropped: the reader fell ${this.maxBacklog} events behind`);
      return;
    }
    this.#queue.push(event);
    this.#wake?.();
  }

  /** The next events, waiting for one; an empty list once closed. */
  async next(): Promise<ServerEvent[]> {
    while (this.#queue.length === 0 && !this.#closed) await new Promise<void>((resolve) => (this.#wake = resolve));
    this.#wake = undefined;
    return this.#queue.splice(0, this.#queue.length);
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = reason;
    this.#queue.length = 0;
    this.#wake?.();
    this.onClose(this);
  }
}

export class EventHub {
  readonly #subscriptions = new Set<Subscription>();

  constructor(private readonly maxBacklog: () => number) {}

  get readers(): number {
    return this.#subscriptions.size;
  }

  subscribe(filter: EventFilter): Subscription {
    const subscription = new Subscription(filter, this.maxBacklog(), (closed) => this.#subscriptions.delete(closed));
    this.#subscriptions.add(subscription);
    return subscription;
  }

  publish(event: ServerEvent): void {
    for (const subscription of this.#subscriptions) subscription.offer(event);
  }

  closeAll(reason: string): void {
    for (const subscription of [...this.#subscriptions]) subscription.close(reason);
  }
}

function accepts(filter: EventFilter, event: ServerEvent): boolean {
  if (filter.types && !filter.types.has(event.type)) return false;
  if (filter.target !== undefined && event.target !== filter.target) return false;
  if (filter.operation !== undefined && (event.type !== 'operation' || event.data.id !== filter.operation)) return false;
  return true;
}
