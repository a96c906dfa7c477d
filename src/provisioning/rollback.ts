import { HvError } from '../core/errors.js';
import { Rollback } from '../files/rollback.js';

// Provisioning's rollback (files/rollback.ts) with the points where tests inject a failure.

export type ProvisionStep = 'root-volume' | 'populate' | 'data-volume' | 'console-log' | 'define' | 'autostart' | 'start';

/**
 * Tests prove the rollback by failing the request right after a given step
 * (HVAGENT_TEST_FAIL_AFTER=<step>). It can only make a request fail, never succeed.
 */
const FAIL_AFTER = process.env.HVAGENT_TEST_FAIL_AFTER;

export class ProvisionRollback extends Rollback {
  /** Marks a finished step (the point where a test may inject a failure). */
  done(step: ProvisionStep): void {
    if (FAIL_AFTER === step) throw new HvError('INTERNAL', `Injected failure after step '${step}' (HVAGENT_TEST_FAIL_AFTER)`);
  }
}
