import type { VmState } from '../libvirt/domains/states.js';

// VM counts by state (the states folded as libvirt/domains/states.ts folds them).

export type StateCounts = Record<VmState | 'total', number>;

export function countStates(states: readonly VmState[]): StateCounts {
  const counts: StateCounts = { running: 0, paused: 0, shutoff: 0, other: 0, total: states.length };
  for (const state of states) counts[state] += 1;
  return counts;
}
