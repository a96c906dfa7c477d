import { HvError } from './errors.js';

// Tests prove that a failed operation leaves nothing behind by making it fail right after
// a given step (HVAGENT_TEST_FAIL_AFTER=<step>). It can only make a request fail, never
// succeed, and does nothing unless the variable names that step.

const FAIL_AFTER = process.env.HVAGENT_TEST_FAIL_AFTER;

export function failAfterForTests(step: string): void {
  if (FAIL_AFTER === step) throw new HvError('INTERNAL', `Injected failure after step '${step}' (HVAGENT_TEST_FAIL_AFTER)`);
}
