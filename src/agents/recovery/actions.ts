import type { Recovery } from '../contract.js';

// Not an agent: the recovery of killed requests' work (src/recovery/), which dispatch runs
// before a handler when the intent journal holds a dead entry. Loaded like a handler, from
// the actions file, and only then.
export const loadRecovery = async (): Promise<Recovery> => (await import('./recover.js')).recover;
