import { runVirshBatch } from './virsh.js';

// Removing an object a request may have defined (a domain, a network, a pool: its rollback,
// or the recovery of a killed request's work): stopped if it runs, then undefined, in one
// virsh process. One that is not there (the define never happened) is no failure: the undo
// was recorded before the step began.

export interface RemovableKind {
  readonly destroy: string;
  readonly undefine: string;
  /** libvirt's reason when there is no such object. */
  readonly absent: RegExp;
  /** libvirt's reason when it is defined but not running. */
  readonly inactive: RegExp;
}

/** Whether it existed; throws when libvirt cannot be asked or refuses. */
export async function destroyAndUndefine(uri: string, kind: RemovableKind, name: string, timeoutMs = 20_000): Promise<boolean> {
  const [destroyed, undefined_] = await runVirshBatch(
    [
      [kind.destroy, name],
      [kind.undefine, name],
    ],
    { uri, timeoutMs },
  );
  if (undefined_!.error) {
    if (kind.absent.test(undefined_!.error.reason)) return false;
    throw undefined_!.error;
  }
  if (destroyed!.error && !kind.inactive.test(destroyed!.error.reason) && !kind.absent.test(destroyed!.error.reason)) throw destroyed!.error;
  return true;
}
