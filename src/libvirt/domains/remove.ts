import { runVirsh, runVirshBatch } from '../virsh.js';
import { isMissingDomain } from './states.js';

// Removing a domain a request may have defined (its rollback, or the recovery of a killed
// request's work): stopped if it runs, then undefined. A domain that is not there (the
// define never happened) is no failure: the undo was recorded before the step began.

const ABSENT = /Domain not found|failed to get domain|no domain with matching/i;
const NOT_RUNNING = /not running|domain is not running/i;

/** Whether it existed; throws when libvirt cannot be asked or refuses. */
export async function removeDomain(uri: string, name: string, timeoutMs = 20_000): Promise<boolean> {
  const [destroyed, undefined_] = await runVirshBatch(
    [
      ['destroy', name],
      ['undefine', name],
    ],
    { uri, timeoutMs },
  );
  if (undefined_!.error) {
    if (ABSENT.test(undefined_!.error.reason)) return false;
    throw undefined_!.error;
  }
  if (destroyed!.error && !NOT_RUNNING.test(destroyed!.error.reason) && !ABSENT.test(destroyed!.error.reason)) throw destroyed!.error;
  return true;
}

/** Whether `name` is defined on `uri`; throws when libvirt cannot be asked. */
export async function domainDefined(uri: string, name: string): Promise<boolean> {
  try {
    await runVirsh(['domuuid', name], { uri, timeoutMs: 20_000 });
    return true;
  } catch (error) {
    if (isMissingDomain(error)) return false;
    throw error;
  }
}
