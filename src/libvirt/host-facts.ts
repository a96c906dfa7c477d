import { hostHasHardwareVirtualisation } from './hardware-virtualisation.js';
import { parseCapabilities, type Capabilities } from './parse/capabilities.js';
import { parseFreecellAll, parseNodeMemStats, type FreeCells, type NodeMemStats } from './parse/free-memory.js';
import { parseNodeInfo, type NodeInfo } from './parse/nodeinfo.js';
import { parseVersion } from './parse/version.js';
import { runVirsh, runVirshBatch, stdoutOrThrow, type VirshCommandResult } from './virsh.js';

// What the hypervisor connections say about the host: one virsh process on the main
// connection, plus a probe of the LXC one. Which VM classes that makes available is
// decided above (monitoring/host-facts.ts).

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
    /** MemFree as libvirt reports it (page cache not counted as free). */
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
const FACT_COMMANDS = [
  ['uri'],
  ['hostname'],
  ['version'],
  ['nodeinfo'],
  ['capabilities'],
  ['freecell', '--all'],
  ['nodememstats'],
] as const;

/** Everything comes from ONE virsh process on `uri`, plus an optional LXC probe in parallel. */
export async function readHypervisorFacts(opts: ReadHostFactsOptions): Promise<HypervisorFacts> {
  const [results, lxcAnswers, hardwareVirtualisation] = await Promise.all([
    runVirshBatch(FACT_COMMANDS, { uri: opts.uri, signal: opts.signal }),
    opts.lxcUri ? probeConnection(opts.lxcUri, opts.signal) : Promise.resolve(false),
    hostHasHardwareVirtualisation(),
  ]);
  const [uri, hostname, version, nodeinfo, capabilities, freecell, nodememstats] = results as [
    VirshCommandResult, VirshCommandResult, VirshCommandResult, VirshCommandResult,
    VirshCommandResult, VirshCommandResult, VirshCommandResult,
  ];
  const versionInfo = parseVersion(stdoutOrThrow(version));
  const node = parseNodeInfo(stdoutOrThrow(nodeinfo));
  const caps = parseCapabilities(stdoutOrThrow(capabilities));
  // Both are optional: the test driver has no nodememstats, some hosts no per-cell figures.
  const freeCells = freecell.error ? undefined : parseFreecellAll(freecell.stdout);
  const memStats = nodememstats.error ? undefined : parseNodeMemStats(nodememstats.stdout);

  return {
    hostname: stdoutOrThrow(hostname).trim(),
    hypervisor: {
      uri: stdoutOrThrow(uri).trim(),
      driver: versionInfo.hypervisor?.name ?? versionInfo.api.name,
      version: versionInfo.hypervisor?.version ?? null,
      libvirt_version: versionInfo.libraryVersion,
    },
    cpu: cpuFacts(node, caps),
    memory: memoryFacts(node, freeCells, memStats),
    numa: caps.numaCells.map((cell) => {
      const freeKiB = freeCells?.cells.get(cell.id);
      return {
        id: cell.id,
        cpus: [...cell.cpuIds].sort((a, b) => a - b),
        memory_mb: kibToMib(cell.memoryKiB),
        free_mb: freeKiB === undefined ? null : kibToMib(freeKiB),
      };
    }),
    virtualisation: { domainTypes: [...new Set(caps.guests.flatMap((guest) => guest.domainTypes))], hardware: hardwareVirtualisation, lxcAnswers },
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
 * nodeinfo's memory is the sum of the NUMA cells, which can undercount: on this project's
 * CI VMs node0 holds 4.5 GiB of a 24 GiB MemTotal. nodememstats reads MemTotal/MemFree, so
 * it wins when the driver supports it.
 */
function memoryFacts(node: NodeInfo, freeCells?: FreeCells, memStats?: NodeMemStats): HypervisorFacts['memory'] {
  const totalKiB = memStats?.totalKiB ?? node.memoryKiB;
  const freeKiB = memStats?.freeKiB ?? freeCells?.totalKiB ?? 0;
  return { total_mb: kibToMib(totalKiB), free_mb: kibToMib(freeKiB) };
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
