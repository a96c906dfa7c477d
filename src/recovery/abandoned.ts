import { rmSync } from 'node:fs';
import type { HvConfig } from '../config/schema.js';
import { HvError, toHvError } from '../core/errors.js';
import { deadIntents, ownerOf, readEntry, settleEntry, type DeadIntent, type UndoRecord } from '../files/intents.js';
import { lockKey, takeLock, withLock } from '../files/locks.js';
import { removeMadeDirectories } from '../files/made-directories.js';
import { removeTemporaryOf } from '../files/temporary.js';
import { domainDefined, removeDomain } from '../libvirt/domains/remove.js';
import { undefineFilter } from '../network/firewall/filters.js';
import { removeNetwork } from '../network/libvirt-networks.js';
import { unreserve } from '../network/reservations.js';
import { removeLibvirtPool, removeRecordedVolume } from '../storage/index.js';
import { removeUnlessNamed } from '../templates/import/unnamed.js';

// Finishing what a killed request left half-made, from its intent journal entry
// (files/intents.ts): each undo it recorded before a step began is done now, in reverse
// order. An undo is harmless when its step never happened. One recoverer at a time per
// entry (its intent lock); a second one waits, then finds the entry gone.

const CLAIM_WAIT_SECONDS = 30;

/**
 * Undoes every dead entry (that names `key`, when given). With `key`, the caller is about to
 * act on it and must not when something stays half-made: what cannot be undone now (libvirtd
 * gone) is an error. Without, a sweep: what fails stays for the next request.
 */
export async function recoverAbandonedWork(config: HvConfig, key?: string): Promise<void> {
  const failures: string[] = [];
  for (const dead of deadIntents(config.paths.lock_dir, key)) failures.push(...(await recover(config, dead)));
  if (failures.length > 0 && key !== undefined) {
    throw new HvError('CONFLICT', `An interrupted request left work that cannot be undone yet: ${failures.join('; ')}; try again once that is fixed`, { left_behind: failures });
  }
}

/** Entries this process is undoing now: a lock an undo takes must not start undoing them again. */
const inHand = new Set<string>();

async function recover(config: HvConfig, dead: DeadIntent): Promise<string[]> {
  if (inHand.has(dead.name)) return [];
  inHand.add(dead.name);
  const claim = await takeLock(lockKey.intent(dead.name), { directory: config.paths.lock_dir }, CLAIM_WAIT_SECONDS).catch((error: unknown) => {
    inHand.delete(dead.name);
    throw error;
  });
  try {
    // Another recoverer may have finished it while this one waited.
    const entry = readEntry(dead.file);
    if (!entry) return [];
    const left: UndoRecord[] = [];
    const failures: string[] = [];
    // A deletion's records apply only once its domain is gone: killed before its undefine,
    // the VM stands whole and keeps them (vm/delete.ts). Asked once per domain, not per record.
    const defined = new Map<string, Promise<boolean>>();
    const stillDefined = (uri: string, name: string) => {
      const key = `${uri} ${name}`;
      if (!defined.has(key)) defined.set(key, domainDefined(uri, name));
      return defined.get(key)!;
    };
    for (const undo of [...entry.undos].reverse()) {
      try {
        if (undo.once_undefined !== undefined && (await stillDefined(undo.domain_uri!, undo.once_undefined))) continue;
        await perform(config, undo);
      } catch (error) {
        left.unshift(undo);
        failures.push(`${entry.what}: ${undo.kind} ${undo.name ?? undo.path ?? ''}: ${toHvError(error).message}`);
      }
    }
    settleEntry(dead.file, entry, left);
    // Its private temporary directories (a domain's XML, a seed holding user data).
    if (entry.tmpdir) removeTemporaryOf(entry.tmpdir, ownerOf(dead.name));
    return failures;
  } finally {
    claim.release();
    inHand.delete(dead.name);
  }
}

async function perform(config: HvConfig, undo: UndoRecord): Promise<void> {
  switch (undo.kind) {
    case 'domain':
      await removeDomain(undo.uri!, undo.name!);
      return;
    case 'volume':
      await removeRecordedVolume(config, undo);
      return;
    case 'file':
      rmSync(undo.path!, { force: true });
      return;
    case 'made-directories':
      removeMadeDirectories(undo.path!, undo.outermost!);
      return;
    case 'libvirt-pool':
      await removeLibvirtPool(undo.uri!, undo.name!);
      return;
    case 'template-file':
      await removeUnlessNamed(config, undo.catalogue!, undo.path!);
      return;
    case 'lease':
      await withLock(lockKey.network(undo.network!), { directory: config.paths.lock_dir, deadline: Date.now() + 60_000 }, () => unreserve(undo.uri!, undo.network!, undo.mac!));
      return;
    case 'network':
      await removeNetwork(undo.uri!, undo.name!);
      return;
    case 'nwfilter':
      await undefineFilter(undo.uri!, undo.name!);
      return;
    case 'temporaries':
      // Private temporary directories: removed with the entry's owner's (removeTemporaryOf).
      return;
    default:
      throw new HvError('INTERNAL', `Unknown undo kind '${undo.kind}' in the intent journal`);
  }
}
