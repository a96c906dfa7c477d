import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';

// A request scope follows one request through every await, so that the command
// runner can find the request's cancellation signal and register the children it
// starts without each layer passing them along. At the deadline the scope kills
// those children at once (docs/reference/protocols.md checklist 19: Choria only kills us, not them).

export class RequestScope {
  readonly #controller = new AbortController();
  readonly #children = new Set<ChildProcess>();
  #changing = false;

  /**
   * The request has begun changing things (an intent is recorded, files/intents.ts): the
   * children it starts from now on die with the agent, so that none of them (a copy, an
   * unpacking, a define) goes on after a SIGKILL, behind the back of the next request
   * that undoes its work.
   */
  markChanging(): void {
    this.#changing = true;
  }

  get changing(): boolean {
    return this.#changing;
  }

  readonly #hurried = new Set<() => void>();

  /** Asks a request that is already stopping (undoing) to reply now: its time is up (a second SIGTERM). */
  hurry(): void {
    for (const listener of this.#hurried) listener();
  }

  onHurry(listener: () => void): void {
    this.#hurried.add(listener);
  }

  #afterLockTaken: ((key: string) => Promise<void>) | undefined;

  /**
   * Runs right after this request takes a lock, before it does anything under it: dispatch
   * sets it so that a request which waited for a lock while its holder was killed first
   * finishes what that holder left half-made (src/recovery/). Per request, so that in a
   * long-running server each request recovers with its own configuration.
   */
  set afterLockTaken(hook: ((key: string) => Promise<void>) | undefined) {
    this.#afterLockTaken = hook;
  }

  get afterLockTaken(): ((key: string) => Promise<void>) | undefined {
    return this.#afterLockTaken;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  track(child: ChildProcess): void {
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
  }

  get liveChildren(): number {
    return this.#children.size;
  }

  /** Aborts pending work and SIGKILLs every child still running. */
  cancel(reason: Error): void {
    this.#controller.abort(reason);
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    this.#children.clear();
  }
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runInScope<T>(scope: RequestScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}
