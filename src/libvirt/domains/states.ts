import { VirshError } from '../virsh-error.js';

// libvirt's many domain states folded into the four a fleet tool needs.

export type VmState = 'running' | 'paused' | 'shutoff' | 'other';

const DOMSTATS_STATES: Record<string, VmState> = { '1': 'running', '2': 'running', '3': 'paused', '5': 'shutoff' };

/** The state of `virsh domstats`' numeric state.state. */
export function stateOfDomstats(code: string | undefined): VmState {
  return DOMSTATS_STATES[code ?? ''] ?? 'other';
}

/** The state of `virsh domstate`'s (or `list`'s) words. */
export function stateOf(domstate: string): VmState {
  const state = domstateWords(domstate);
  // "idle" is libvirt's blocked state (a guest waiting on I/O): running, as domstats' 2 is.
  if (state === 'running' || state === 'idle') return 'running';
  if (state === 'paused') return 'paused';
  if (state === 'shut off') return 'shutoff';
  return 'other';
}

/** The words of `virsh domstate`'s first line ("running", "in shutdown", …). */
export function domstateWords(domstate: string): string | undefined {
  return domstate.trim().split('\n')[0]?.trim();
}

export function isMissingDomain(error: unknown): boolean {
  return error instanceof VirshError && /failed to get domain|Domain not found|no domain with matching/i.test(error.stderr);
}
