import { failAfterForTests } from '../core/test-failure.js';
import { Rollback } from '../files/rollback.js';

// Provisioning's rollback (files/rollback.ts) with the points where tests inject a failure.

export type ProvisionStep = 'root-volume' | 'populate' | 'data-volume' | 'lease' | 'nic-filter' | 'seed' | 'console-log' | 'define' | 'autostart' | 'start';

export class ProvisionRollback extends Rollback {
  /** Marks a finished step (the point where a test may inject a failure, HVAGENT_TEST_FAIL_AFTER). */
  done(step: ProvisionStep): void {
    failAfterForTests(step);
  }
}
