import { destroyAndUndefine, type RemovableKind } from '../remove-defined.js';
import { runVirsh } from '../virsh.js';
import { isMissingDomain } from './states.js';

const DOMAIN: RemovableKind = {
  destroy: 'destroy',
  undefine: 'undefine',
  absent: /Domain not found|failed to get domain|no domain with matching/i,
  inactive: /not running|domain is not running/i,
};

/** A domain a request may have defined, stopped and undefined (remove-defined.ts); whether it existed. */
export function removeDomain(uri: string, name: string, timeoutMs = 20_000): Promise<boolean> {
  return destroyAndUndefine(uri, DOMAIN, name, timeoutMs);
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
