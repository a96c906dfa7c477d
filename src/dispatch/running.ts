import { HvError } from '../core/errors.js';
import type { Protocol } from '../core/request.js';
import type { RequestScope } from '../core/scope.js';

// The requests this process is running, by id, so that a long-running process (the REST
// server, a stdio stream) can list them and cancel one: its children are killed and its
// action undoes what it made, as at the deadline.

export interface RunningRequest {
  readonly id: string;
  readonly agent: string;
  readonly action: string;
  readonly caller: string | null;
  readonly protocol: Protocol;
  readonly startedAt: Date;
}

interface Entry extends RunningRequest {
  readonly scope: RequestScope;
}

export class RunningRequests {
  readonly #entries = new Map<string, Entry>();

  /** Registers a started request; the id must be unused (dispatch makes it so). */
  add(entry: Entry): void {
    this.#entries.set(entry.id, entry);
  }

  remove(id: string): void {
    this.#entries.delete(id);
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  find(id: string): RunningRequest | undefined {
    const entry = this.#entries.get(id);
    return entry && describe(entry);
  }

  list(): RunningRequest[] {
    return [...this.#entries.values()].map(describe);
  }

  /** Cancels a running request; false when none runs with that id. */
  cancel(id: string, by = 'the operator'): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    entry.scope.cancel(new HvError('CANCELLED', `${entry.agent} ${entry.action} was cancelled by ${by}`, { request_id: id }));
    return true;
  }

  /** Cancels every running request: the process received `signal` (SIGTERM) and is to stop. */
  interruptAll(signal: string): number {
    for (const entry of this.#entries.values()) {
      // Already stopping (deadline, an earlier signal): the sender's patience is at an end,
      // so it replies now; its rollback's own children live on (what they do not finish,
      // the intent journal leaves to the next request).
      if (entry.scope.signal.aborted) {
        entry.scope.hurry();
        continue;
      }
      entry.scope.cancel(
        new HvError('CANCELLED', `${entry.agent} ${entry.action} was interrupted: hvagent received ${signal}`, { request_id: entry.id, signal }),
      );
    }
    return this.#entries.size;
  }
}

function describe({ scope: _scope, ...request }: Entry): RunningRequest {
  return request;
}

