import { HvError } from '../../src/core/errors.js';

/** The HvError `work` throws synchronously (fails the test when it throws nothing or something else). */
export function refusalOf(work: () => unknown): HvError {
  try {
    work();
  } catch (error) {
    if (error instanceof HvError) return error;
    throw error;
  }
  throw new Error('expected a refusal, but it was accepted');
}
