import { HvError, toHvError } from '../core/errors.js';
import { failAfterForTests } from '../core/test-failure.js';

// Provisioning creates things one step at a time (volumes, a root filesystem, a domain).
// Each step that made something registers how to undo it; when a later step fails,
// everything this request made is undone in reverse order, and nothing it did not make
// is ever touched.

export type ProvisionStep = 'root-volume' | 'populate' | 'data-volume' | 'lease' | 'nic-filter' | 'seed' | 'console-log' | 'define' | 'autostart' | 'start';

interface Undo {
  what: string;
  run: () => Promise<unknown>;
}

export class Rollback {
  readonly #undos: Undo[] = [];

  /** Registers how to undo something just made. */
  made(what: string, run: () => Promise<unknown>): void {
    this.#undos.push({ what, run });
  }

  /** Marks a finished step (the point where a test may inject a failure, HVAGENT_TEST_FAIL_AFTER). */
  done(step: ProvisionStep): void {
    failAfterForTests(step);
  }

  /** Undoes everything in reverse order; returns what could not be undone (each is still tried). */
  async undo(): Promise<string[]> {
    const failed: string[] = [];
    for (const undo of this.#undos.reverse()) {
      try {
        await undo.run();
      } catch (error) {
        failed.push(`${undo.what}: ${(error as Error).message}`);
      }
    }
    this.#undos.length = 0;
    return failed;
  }
}

/** Runs work; on failure undoes what it made and rethrows, noting anything left behind. */
export async function withRollback<T>(work: (rollback: Rollback) => Promise<T>): Promise<T> {
  const rollback = new Rollback();
  try {
    return await work(rollback);
  } catch (error) {
    const leftovers = await rollback.undo();
    if (leftovers.length === 0) throw error;
    const cause = toHvError(error);
    throw new HvError(cause.code, `${cause.message}; rollback could not remove: ${leftovers.join('; ')}`, { ...cause.details, left_behind: leftovers }, { cause: error });
  }
}
