import { freeMemoryHere, readFreeMemory, readHypervisorFacts, type HypervisorFacts, type ReadHostFactsOptions } from '../libvirt/host-facts.js';
import { connectionIsOnThisMachine } from '../libvirt/local-memory.js';
import type { VmClassName } from '../model/vm-classes.js';

// What the host has (CPUs, memory, NUMA, the hypervisor) and which VM classes it can run.
//
// A long-running process (`hvagent serve`, keepHostFacts) keeps what does not move (the
// hypervisor and its versions, CPU and NUMA topology, the VM classes) and reads only free
// memory per request: from /proc and /sys, no process at all, when the connection is on
// this machine. So `host info` costs the server no virsh per request and is never older
// than the request. What it keeps is read again when libvirt's connections come or go
// (the server's event watch), on a configuration reload, and after KEPT_FACTS_MS (hostname
// or online CPUs changed by hand): then served once more while it is read again.

export interface HostFacts extends Omit<HypervisorFacts, 'virtualisation'> {
  readonly vm_classes: readonly VmClassName[];
}

const KEPT_FACTS_MS = 10 * 60_000;

interface Kept {
  readonly facts: Promise<HostFacts>;
  /** The facts, once read. */
  value?: HostFacts;
  at: number;
  refreshing?: boolean;
}

/** By main and LXC connection; undefined: nothing is kept (a per-request process reads once anyway). */
let kept: Map<string, Kept> | undefined;

/** From now on this process keeps host facts across requests (the server). */
export function keepHostFacts(): void {
  kept ??= new Map();
}

/** What is kept is read again on its next use: the hypervisor connections changed. */
export function forgetHostFacts(): void {
  kept?.clear();
}

export async function readHostFacts(options: ReadHostFactsOptions): Promise<HostFacts> {
  if (!kept) return readAll(options);
  const key = keyOf(options);
  const entry = kept.get(key);
  if (!entry) return keep(key, options).facts;
  refreshIfOld(key, entry, options);
  const facts = await entry.facts;
  return { ...facts, ...(await readFreeMemory(facts, options)) };
}

/**
 * The same at once, from what is kept, where free memory needs no process (the connection
 * is on this machine): undefined when nothing is kept yet or it would take a `virsh`.
 */
export function keptHostFacts(options: Omit<ReadHostFactsOptions, 'signal'>): HostFacts | undefined {
  if (!kept || !connectionIsOnThisMachine(options.uri)) return undefined;
  const key = keyOf(options);
  const entry = kept.get(key);
  if (!entry?.value) return undefined;
  refreshIfOld(key, entry, options);
  const facts = entry.value;
  return { ...facts, ...freeMemoryHere(facts) };
}

const keyOf = (options: Omit<ReadHostFactsOptions, 'signal'>) => `${options.uri}\n${options.lxcUri ?? ''}`;

function refreshIfOld(key: string, entry: Kept, options: Omit<ReadHostFactsOptions, 'signal'>): void {
  if (Date.now() - entry.at >= KEPT_FACTS_MS && !entry.refreshing) {
    entry.refreshing = true;
    keep(key, { uri: options.uri, lxcUri: options.lxcUri }, entry);
  }
}

/** Reads everything and keeps it once read; a failure is not kept (the next request reads again). */
function keep(key: string, options: ReadHostFactsOptions, previous?: Kept): Kept {
  const entry: Kept = { facts: readAll(options), at: Date.now() };
  if (!previous) kept!.set(key, entry);
  entry.facts.then(
    (facts) => {
      entry.value = facts;
      entry.at = Date.now();
      if (previous && kept!.get(key) === previous) kept!.set(key, entry);
    },
    () => {
      if (kept!.get(key) === entry) kept!.delete(key);
      if (previous) previous.refreshing = false;
    },
  );
  return entry;
}

async function readAll(options: ReadHostFactsOptions): Promise<HostFacts> {
  const { virtualisation, ...facts } = await readHypervisorFacts(options);
  return { ...facts, vm_classes: offeredVmClasses(virtualisation) };
}

/**
 * - qemu: some guest is offered with domain type "qemu" (TCG emulation always works).
 * - kvm: domain type "kvm" offered AND the CPU shows vmx/svm. libvirt offers "kvm" as soon
 *   as /dev/kvm exists, but a /dev/kvm without VT-x/AMD-V (e.g. kvm_pvm inside a Firecracker
 *   VM) only runs PVM-aware guest kernels; ordinary guests crash, so it must not be offered.
 *   The flag check reads the local /proc/cpuinfo: hvagent runs on the host it manages.
 * - lxc: the separate LXC connection answers.
 */
export function offeredVmClasses(virtualisation: HypervisorFacts['virtualisation']): VmClassName[] {
  const offered = new Set(virtualisation.domainTypes);
  const classes: VmClassName[] = [];
  if (offered.has('qemu')) classes.push('qemu');
  if (offered.has('kvm') && virtualisation.hardware) classes.push('kvm');
  if (virtualisation.lxcAnswers) classes.push('lxc');
  return classes;
}
