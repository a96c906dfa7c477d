import { hostHasHardwareVirtualisation } from './hardware-virtualisation.js';
import { parseCapabilities, type Capabilities } from './parse/capabilities.js';
import { connectionIsOnThisMachine, readLocalFreeMemory, type FreeMemoryKiB } from './local-memory.js';
import { parseFreecellAll, parseNodeMemStats } from './parse/free-memory.js';
import { parseNodeInfo, type NodeInfo } from './parse/nodeinfo.js';
import { parseVersion } from './parse/version.js';
import { runVirsh, runVirshBatch, stdoutOrThrow, type VirshCommandResult } from './virsh.js';

// What the hypervisor connections say about the host: one virsh process on the main
// connection, plus a probe of the LXC one; free memory alone can be read again. Which VM
// classes that makes available is decided above (monitoring/host-facts.ts).

/** Memory figures are MiB (KiB from libvirt, rounded down). */
export interface HypervisorFacts {
  /** Host name as the hypervisor connection reports it. */
  readonly hostname: string;
  readonly hypervisor: {
    /** Canonical URI as libvirt resolved it (`virsh uri`), e.g. "qemu:///system". */
    readonly uri: string;
    /** Driver name, e.g. "QEMU", "TEST". */
    readonly driver: string;
    /** Running hypervisor version (e.g. QEMU "7.2.22"); null when the driver reports none. */
    readonly version: string | null;
    readonly libvirt_version: string;
  };
  readonly cpu: {
    /** libvirt's host CPU model (e.g. "kvm64"), else what nodeinfo reports. */
    readonly model: string;
    readonly arch: string;
    readonly sockets: number;
    readonly cores_per_socket: number;
    readonly threads_per_core: number;
    /** Online logical CPUs. */
    readonly total_cpus: number;
    readonly mhz: number;
  };
  readonly memory: {
    readonly total_mb: number;
    /** MemFree as libvirt reports it, or read where libvirt reads it (page cache not counted as free). */
    readonly free_mb: number;
  };
  readonly numa: readonly {
    readonly id: number;
    readonly cpus: readonly number[];
    readonly memory_mb: number;
    /** null when the driver cannot report per-cell free memory. */
    readonly free_mb: number | null;
  }[];
  /** What can run here: the domain types libvirt offers guests, whether the CPU has VT-x/AMD-V, whether the LXC connection answers. */
  readonly virtualisation: {
    readonly domainTypes: readonly string[];
    readonly hardware: boolean;
    readonly lxcAnswers: boolean;
  };
}

export interface ReadHostFactsOptions {
  /** Main connection, e.g. "qemu:///system", "test:///default", "qemu:///embed?root=DIR". */
  readonly uri: string;
  /** When given, probed separately: `lxc` is reported only if this URI answers. */
  readonly lxcUri?: string;
  readonly signal?: AbortSignal;
}

const LXC_PROBE_TIMEOUT_MS = 5_000;
const FACT_COMMANDS = [['uri'], ['hostname'], ['version'], ['nodeinfo'], ['capabilities']] as const;
const FREE_MEMORY_COMMANDS = [['freecell', '--all'], ['nodememstats']] as const;

/**
 * Everything comes from ONE virsh process on `uri`, plus an optional LXC probe in parallel.
 * Free memory comes from this machine's /proc and /sys when the connection is on it
 * (local-memory.ts), else from the same virsh process.
 */
export async function readHypervisorFacts(opts: ReadHostFactsOptions): Promise<HypervisorFacts> {
  const local = connectionIsOnThisMachine(opts.uri);
  const [results, lxcAnswers, hardwareVirtualisation] = await Promise.all([
    runVirshBatch(local ? FACT_COMMANDS : [...FACT_COMMANDS, ...FREE_MEMORY_COMMANDS], { uri: opts.uri, signal: opts.signal }),
    opts.lxcUri ? probeConnection(opts.lxcUri, opts.signal) : Promise.resolve(false),
    hostHasHardwareVirtualisation(),
  ]);
  const [uri, hostname, version, nodeinfo, capabilities, freecell, nodememstats] = results as [
    VirshCommandResult, VirshCommandResult, VirshCommandResult, VirshCommandResult,
    VirshCommandResult, VirshCommandResult | undefined, VirshCommandResult | undefined,
  ];
  const versionInfo = parseVersion(stdoutOrThrow(version));
  const node = parseNodeInfo(stdoutOrThrow(nodeinfo));
  const caps = parseCapabilities(stdoutOrThrow(capabilities));
  const cellIds = caps.numaCells.map((cell) => cell.id);
  const free = local ? readLocalFreeMemory(cellIds) : freeMemoryFromVirsh(freecell!, nodememstats!, node.memoryKiB);

  return {
    hostname: stdoutOrThrow(hostname).trim(),
    hypervisor: {
      uri: stdoutOrThrow(uri).trim(),
      driver: versionInfo.hypervisor?.name ?? versionInfo.api.name,
      version: versionInfo.hypervisor?.version ?? null,
      libvirt_version: versionInfo.libraryVersion,
    },
    cpu: cpuFacts(node, caps),
    ...withFreeMemory(
      caps.numaCells.map((cell) => ({ id: cell.id, cpus: [...cell.cpuIds].sort((a, b) => a - b), memory_mb: kibToMib(cell.memoryKiB), free_mb: null })),
      free,
    ),
    virtualisation: { domainTypes: [...new Set(caps.guests.flatMap((guest) => guest.domainTypes))], hardware: hardwareVirtualisation, lxcAnswers },
  };
}

/**
 * What moves in facts read before: the host's and each NUMA cell's free memory, read again
 * (from /proc and /sys without a process when the connection is on this machine).
 */
export async function readFreeMemory(facts: Pick<HypervisorFacts, 'memory' | 'numa'>, opts: ReadHostFactsOptions): Promise<Pick<HypervisorFacts, 'memory' | 'numa'>> {
  if (connectionIsOnThisMachine(opts.uri)) return freeMemoryHere(facts);
  const [freecell, nodememstats] = await runVirshBatch(FREE_MEMORY_COMMANDS, { uri: opts.uri, signal: opts.signal });
  return withFreeMemory(facts.numa, freeMemoryFromVirsh(freecell!, nodememstats!, facts.memory.total_mb * 1024));
}

/** Free memory of this machine and its cells, from /proc and /sys (no process): for a connection on this machine. */
export function freeMemoryHere(facts: Pick<HypervisorFacts, 'numa'>): Pick<HypervisorFacts, 'memory' | 'numa'> {
  return withFreeMemory(facts.numa, readLocalFreeMemory(facts.numa.map((cell) => cell.id)));
}

function withFreeMemory(numa: HypervisorFacts['numa'], free: FreeMemoryKiB): Pick<HypervisorFacts, 'memory' | 'numa'> {
  return {
    memory: { total_mb: kibToMib(free.totalKiB), free_mb: kibToMib(free.freeKiB) },
    numa: numa.map((cell) => {
      const freeKiB = free.cells.get(cell.id);
      return { ...cell, free_mb: freeKiB === undefined ? null : kibToMib(freeKiB) };
    }),
  };
}

function cpuFacts(node: NodeInfo, caps: Capabilities): HypervisorFacts['cpu'] {
  const topology = caps.hostCpu.topology;
  return {
    model: caps.hostCpu.model ?? node.cpuModel,
    arch: caps.hostCpu.arch,
    // nodeinfo counts sockets per NUMA cell; the capabilities topology is host-wide.
    sockets: topology ? topology.sockets * topology.dies : node.socketsPerCell * node.numaCells,
    cores_per_socket: topology?.cores ?? node.coresPerSocket,
    threads_per_core: topology?.threads ?? node.threadsPerCore,
    total_cpus: node.cpus,
    mhz: node.mhz,
  };
}

/**
 * Both commands are optional: the test driver has no nodememstats, some hosts no per-cell
 * figures. nodeinfo's memory is the sum of the NUMA cells, which can undercount: on this
 * project's CI VMs node0 holds 4.5 GiB of a 24 GiB MemTotal. nodememstats reads
 * MemTotal/MemFree, so it wins when the driver supports it.
 */
function freeMemoryFromVirsh(freecell: VirshCommandResult, nodememstats: VirshCommandResult, nodeTotalKiB: number): FreeMemoryKiB {
  const freeCells = freecell.error ? undefined : parseFreecellAll(freecell.stdout);
  const memStats = nodememstats.error ? undefined : parseNodeMemStats(nodememstats.stdout);
  return {
    totalKiB: memStats?.totalKiB ?? nodeTotalKiB,
    freeKiB: memStats?.freeKiB ?? freeCells?.totalKiB ?? 0,
    cells: freeCells?.cells ?? new Map(),
  };
}

async function probeConnection(uri: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await runVirsh(['uri'], { uri, signal, timeoutMs: LXC_PROBE_TIMEOUT_MS });
    return true;
  } catch {
    return false;
  }
}

function kibToMib(kib: number): number {
  return Math.floor(kib / 1024);
}
