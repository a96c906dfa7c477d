import { setTimeout as sleep } from 'node:timers/promises';
import { currentState, type Located } from '../libvirt/domains/locate.js';
import { type VmState } from '../libvirt/domains/states.js';

const POLL_MS = 250;

/** Polls the VM's state until it is `wanted` or `timeoutMs` has passed; returns the last state seen. */
export async function waitForState(vm: Located, wanted: VmState, timeoutMs: number, signal?: AbortSignal): Promise<VmState> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const state = await currentState(vm, signal);
    if (state === wanted || Date.now() >= until) return state;
    await sleep(Math.min(POLL_MS, Math.max(0, until - Date.now())), undefined, signal ? { signal } : undefined);
  }
}
