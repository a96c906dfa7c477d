import { HvError, toHvError } from '../core/errors.js';
import type { Intent, UndoRecord } from './intents.js';

// A request that makes things one step at a time (volumes, a root filesystem, a domain, a
// template file) registers each step's undo before the step begins, so that whatever
// point it fails at, or is stopped at, everything it made is undone in reverse order, and
// nothing it did not make is touched. With an intent (intents.ts) each undo is also
// written down first: when the process is killed before it can undo, the next request
// that touches the same things does it (src/recovery/).

interface Undo {
  what: string;
  run: () => Promise<unknown>;
  record: UndoRecord | undefined;
}

export class Rollback {
  readonly #undos: Undo[] = [];

  constructor(readonly intent?: Intent) {}

  /**
   * Registers how to undo a step that is about to begin. The undo must be harmless when the
   * step never happened (a volume not made is not deleted).
   */
  made(what: string, run: () => Promise<unknown>, record?: UndoRecord): void {
    if (record) this.intent?.record(record);
    this.#undos.push({ what, run, record });
  }

  /**
   * Undoes everything in reverse order; returns what could not be undone (each is still
   * tried). What could not be undone stays in the journal, for the next request to finish.
   */
  async undo(): Promise<string[]> {
    const failed: string[] = [];
    const left: UndoRecord[] = [];
    for (const undo of this.#undos.reverse()) {
      try {
        await undo.run();
      } catch (error) {
        failed.push(`${undo.what}: ${(error as Error).message}`);
        if (undo.record) left.unshift(undo.record);
      }
    }
    this.#undos.length = 0;
    this.intent?.abandon(left);
    return failed;
  }

  /** The work succeeded: nothing is to be undone, the journal entry goes. */
  finish(): void {
    this.#undos.length = 0;
    this.intent?.end();
  }
}

/**
 * Runs work; on failure undoes what it made and rethrows, noting anything left behind. On
 * success the journal entry ends, unless `finish: false`: the caller then calls finish()
 * once the rest of the request (outside this work) is done too.
 */
export async function withRollback<T, R extends Rollback>(rollback: R, work: (rollback: R) => Promise<T>, options: { finish: boolean } = { finish: true }): Promise<T> {
  let result: T;
  try {
    result = await work(rollback);
  } catch (error) {
    const leftovers = await rollback.undo();
    if (leftovers.length === 0) throw error;
    const cause = toHvError(error);
    throw new HvError(
      cause.code,
      `${cause.message}; rollback could not remove: ${leftovers.join('; ')} (the next request that touches it finishes the rollback)`,
      { ...cause.details, left_behind: leftovers },
      { cause: error },
    );
  }
  if (options.finish) rollback.finish();
  return result;
}
