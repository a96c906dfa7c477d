import { currentState, isEmbedded, type VmState } from '../vm/hypervisor.js';

// libvirt's states folded into the vm agent's four, from the two places monitoring reads
// them: domstats' numeric state.state (QEMU) and the words of `virsh list` (LXC).

const DOMSTATS_STATES: Record<string, VmState> = { '1': 'running', '2': 'running', '3': 'paused', '5': 'shutoff' };
const LIST_WORDS: Record<string, VmState> = { running: 'running', idle: 'running', paused: 'paused', 'shut off': 'shutoff' };

export function stateOfDomstats(code: string | undefined): VmState {
  return DOMSTATS_STATES[code ?? ''] ?? 'other';
}

export function stateOfListWord(word: string): VmState {
  return LIST_WORDS[word] ?? 'other';
}

export type StateCounts = Record<VmState | 'total', number>;

export function countStates(states: readonly VmState[]): StateCounts {
  const counts: StateCounts = { running: 0, paused: 0, shutoff: 0, other: 0, total: states.length };
  for (const state of states) counts[state] += 1;
  return counts;
}

/**
 * qemu:///embed only: a guest that powered itself off may still read running until a
 * job-taking call (vm/hypervisor.ts, reconcile). Other URIs are the truth as read, and
 * cost no process per VM.
 */
export async function reconcileEmbedded<T extends { name: string; state: VmState }>(uri: string, vms: T[], signal?: AbortSignal): Promise<T[]> {
  if (!isEmbedded(uri)) return vms;
  for (const vm of vms) if (vm.state === 'running' || vm.state === 'paused') vm.state = await currentState({ uri, name: vm.name }, signal);
  return vms;
}
