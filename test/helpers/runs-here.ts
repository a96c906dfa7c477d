import { test } from '@jest/globals';

// A test that cannot run on this machine is skipped with its reason printed, never
// silently; where CI says every test must run (HVAGENT_CI=1, set by .ci/run), a skip that
// matters is a failure instead.

/**
 * `test` when the test can run here; otherwise a skip that says why, or, when `mustRunInCi`
 * and HVAGENT_CI=1, a test that fails with that reason.
 */
export function testWhen(canRun: boolean, why: string, mustRunInCi = true): typeof test {
  if (canRun) return test;
  if (mustRunInCi && process.env.HVAGENT_CI === '1') {
    return ((name: string) => test(name, () => { throw new Error(`cannot run here, and CI requires it: ${why}`); })) as unknown as typeof test;
  }
  process.stderr.write(`\n  SKIPPED (${why})\n`);
  return test.skip as unknown as typeof test;
}
