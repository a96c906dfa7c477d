import type { HvConfig } from '../../config/schema.js';
import { HvError } from '../../core/errors.js';
import { runVirshBatch, stdoutOrThrow, virsh, type VirshCommand, type VirshCommandResult } from '../virsh.js';
import { VirshError } from '../virsh-error.js';
import { isEmbedded, uriFor, type Driver } from './connections.js';
import { domstateWords, isMissingDomain, stateOf, type VmState } from './states.js';
import { classOfDomainType, type VmClassName } from '../../model/vm-classes.js';

// A VM found by name on either connection (connections.ts), with its state as the truth
// rather than as a stale embedded driver remembers it.


export interface Located {
  name: string;
  driver: Driver;
  uri: string;
  state: VmState;
  vmClass: VmClassName;
}


/** What locate() asks of one connection: the state, and the domain type that tells the class. */
function locateCommands(name: string): VirshCommand[] {
  return [['domstate', name], ['dumpxml', '--xpath', '/domain/@type', name]];
}

function locatedFrom(name: string, driver: Driver, uri: string, domstate: string, type: VirshCommandResult | undefined): Located {
  const domainType = /type="([a-z]+)"/.exec(type?.stdout ?? '')?.[1] ?? driver;
  return { name, driver, uri, state: stateOf(domstate), vmClass: classOfDomainType(domainType) ?? (driver === 'lxc' ? 'lxc' : 'qemu') };
}

/**
 * Finds a VM on either connection (asked in parallel). An unreachable LXC connection is
 * not an error here: a host may run QEMU guests only.
 */
export async function locate(config: HvConfig, name: string, signal?: AbortSignal): Promise<Located | undefined> {
  const ask = (driver: Driver): Promise<Located | undefined> => retryingBrokenRead(() => askOne(driver));
  const askOne = async (driver: Driver): Promise<Located | undefined> => {
    const uri = uriFor(config, driver);
    try {
      const [domstate, type] = await runVirshBatch(locateCommands(name), { uri, ...(signal && { signal }) });
      const domstateText = stdoutOrThrow(domstate!);
      const found = locatedFrom(name, driver, uri, domstateText, type);
      return { ...found, state: await reconcile(uri, name, domstateText, signal) };
    } catch (error) {
      if (isMissingDomain(error)) return undefined;
      if (driver === 'lxc' && error instanceof VirshError && error.code === 'HYPERVISOR_UNREACHABLE') return undefined;
      throw error;
    }
  };
  const [qemu, lxc] = await Promise.all([ask('qemu'), ask('lxc')]);
  return qemu ?? lxc;
}

/**
 * Whether a VM of that name is defined on either connection, asked through one virsh
 * process that connects to both in turn: on provisioning's hot path, half the processes
 * of locate() for the same latency. The state is as libvirt reports it (no reconciling).
 */
export async function findDefined(config: HvConfig, name: string, signal?: AbortSignal): Promise<Located | undefined> {
  const qemuUri = uriFor(config, 'qemu');
  const lxcUri = uriFor(config, 'lxc');
  const results = await runVirshBatch([...locateCommands(name), ['connect', lxcUri], ...locateCommands(name)], { uri: qemuUri, ...(signal && { signal }) });
  const found = (driver: Driver, uri: string, [state, type]: Array<VirshCommandResult | undefined>): Located | undefined => {
    if (!state || state.error) {
      if (!state || isMissingDomain(state.error)) return undefined;
      // A host without a working LXC driver has no containers.
      if (driver === 'lxc') return undefined;
      throw state.error;
    }
    return locatedFrom(name, driver, uri, state.stdout, type);
  };
  const lxcConnected = results[2] !== undefined && !results[2].error;
  return found('qemu', qemuUri, results.slice(0, 2)) ?? (lxcConnected ? found('lxc', lxcUri, results.slice(3, 5)) : undefined);
}

/** The VM's state now, as the truth rather than as a stale embedded driver remembers it. */
export async function currentState(vm: { uri: string; name: string }, signal?: AbortSignal): Promise<VmState> {
  return retryingBrokenRead(async () => reconcile(vm.uri, vm.name, await virsh(vm.uri, ['domstate', vm.name], signal), signal));
}

/**
 * The embedded driver's virsh has crashed here while a QEMU process was exiting, and once
 * (CI, a loaded host) hung in the job-taking call of reconcile until it was killed; neither
 * was seen again on a fresh connection. A read is harmless to repeat, so reads are tried up
 * to three times when virsh was killed by a signal, or, on an embedded connection, when it
 * timed out (reconcile's wait for QEMU is bounded at 20 s; the other reads at virsh's 60 s).
 */
async function retryingBrokenRead<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= 3 || !(error instanceof VirshError) || error.cancelled) throw error;
      const crashed = /killed by SIG/.test(error.reason);
      const embeddedWaitRanOut = error.timedOut === true && isEmbedded(error.uri);
      if (!crashed && !embeddedWaitRanOut) throw error;
    }
  }
}

export async function mustLocate(config: HvConfig, name: string, signal?: AbortSignal): Promise<Located> {
  const found = await locate(config, name, signal);
  if (!found) throw new HvError('NOT_FOUND', `No VM named '${name}' on this host`, { name });
  return found;
}

/** Reconnecting to a QEMU and answering dommemstat takes seconds even under TCG on a loaded host. */
const EMBEDDED_RECONCILE_TIMEOUT_MS = 20_000;

/**
 * With qemu:///embed nothing watches QEMU between connections (docs/reference/backends.md, addendum):
 * a guest that powered itself off still reads "running", because libvirt runs QEMU with
 * -no-shutdown and learns what happened only when its reconnection to QEMU completes,
 * which the first job-taking call on the domain waits for. So: ask a harmless job-taking
 * question (dommemstat) and read the state again on the same connection. "in shutdown"
 * (guest off, QEMU kept) is finished with destroy, and "shut off" is what we report; it
 * can be the first answer too, when QEMU's shutdown event reached the connection that read
 * it (the guest powered off while virsh was connected, which a loaded host makes likely).
 */
async function reconcile(uri: string, name: string, domstate: string, signal?: AbortSignal): Promise<VmState> {
  const state = stateOf(domstate);
  if (!isEmbedded(uri)) return state;
  if (!isInShutdown(domstate)) {
    if (state !== 'running' && state !== 'paused') return state;
    const [, again] = await runVirshBatch([['dommemstat', name], ['domstate', name]], { uri, timeoutMs: EMBEDDED_RECONCILE_TIMEOUT_MS, ...(signal && { signal }) });
    if (!again || again.error) return state;
    if (!isInShutdown(again.stdout)) return stateOf(again.stdout);
  }
  await virsh(uri, ['destroy', name], signal).catch(() => undefined);
  return stateOf(await virsh(uri, ['domstate', name], signal));
}

function isInShutdown(domstate: string): boolean {
  return domstateWords(domstate) === 'in shutdown';
}

/**
 * The states of many VMs read in one go (domstats, list), made true for an embedded
 * driver: only there can a guest that powered itself off still read running or in
 * shutdown (reconcile), so only there is one process per VM not shut off spent.
 */
export async function reconcileEmbedded<T extends { name: string; state: VmState }>(uri: string, vms: T[], signal?: AbortSignal): Promise<T[]> {
  if (!isEmbedded(uri)) return vms;
  // "other" holds domstats' 4, in shutdown: a guest that ended while a connection was open.
  for (const vm of vms) if (vm.state !== 'shutoff') vm.state = await currentState({ uri, name: vm.name }, signal);
  return vms;
}
