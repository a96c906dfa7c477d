import type { Recovery } from '../agents/contract.js';
import type { HvConfig } from '../config/schema.js';
import { deadIntents } from '../files/intents.js';
import { currentScope } from '../core/scope.js';

// Before anything else, a request finishes what killed requests left half-made: every dead
// intent at its start (a sweep: what fails waits for the next request), and those naming
// a lock it takes, once it holds it (it may have waited for that lock while its holder was
// killed). Both cost one readdir of the journal when there is nothing to do. A module of
// its own, loaded once a request has passed validation: the journal and the locks bring
// child_process and the stream modules, which a refused request never needs (P1).

export async function recoverFirst(config: HvConfig, recovery: () => Promise<Recovery>): Promise<void> {
  const directory = config.paths.lock_dir;
  const scope = currentScope();
  if (scope) {
    scope.afterLockTaken = async (key) => {
      if (deadIntents(directory, key).length > 0) await (await recovery())(config, key);
    };
  }
  if (deadIntents(directory).length > 0) await (await recovery())(config).catch(() => undefined);
}
