import { runVirsh, runVirshBatch, VirshError, type VirshCommandResult } from '../libvirt/index.js';
import { parseCounterLines, parseCpuStatsTotalNs, parseListAll } from '../libvirt/parse/virsh-tables.js';
import { parseDomainXml } from '../libvirt/parse/domain.js';
import { isMissingDomain, stateOf, type VmState } from '../libvirt/domains/states.js';
import type { NicStats, VmStats } from './vm-stats-types.js';

// Containers: the LXC driver has no domstats at all (virConnectGetAllDomainStats is
// "not supported by the connection driver" in libvirt 9.0), so its per-domain calls are
// batched instead: dumpxml (vCPUs, assigned memory), domiflist (NIC devices), cpu-stats
// --total (cgroup CPU time, to the nanosecond; dominfo rounds to 0.1 s), dommemstat (cgroup
// memory usage) and domblkstat (the cgroup's block I/O: a container has filesystems, not
// disks, so it is one "total" entry). Counters of each NIC need its device name from the
// first batch: `domifstat` runs in a second one, only for running containers with NICs.

const LIVE_COMMANDS = ['domiflist', 'cpu-stats --total', 'dommemstat', 'domblkstat'] as const;

interface Described {
  readonly name: string;
  readonly state: VmState;
  readonly results: readonly VirshCommandResult[];
}

/** All containers, or the one named (undefined when it is not there, or LXC does not answer). */
export async function readLxcStats(uri: string, name: string | undefined, signal?: AbortSignal): Promise<VmStats[] | undefined> {
  const options = { uri, ...(signal && { signal }) };
  try {
    const described = name === undefined ? await describeAll(uri, signal) : await describeOne(uri, name, signal);
    if (!described) return undefined;
    const nicNames = described.map((container) => (isLive(container.state) ? interfaceNames(container.results[1]) : []));
    const ifstatCommands = described.flatMap((container, i) => nicNames[i]!.map((nic) => ['domifstat', container.name, nic]));
    const ifstats = ifstatCommands.length > 0 ? await runVirshBatch(ifstatCommands, options) : [];
    let next = 0;
    return described.map((container, i) => {
      const nics = nicNames[i]!.map((nic) => nicStats(nic, ifstats[next++]));
      return containerStats(container, nics);
    });
  } catch (error) {
    if (name !== undefined && isMissingDomain(error)) return undefined;
    // A host without a working LXC driver simply has no containers.
    if (error instanceof VirshError && error.code === 'HYPERVISOR_UNREACHABLE') return name === undefined ? [] : undefined;
    throw error;
  }
}

async function describeAll(uri: string, signal?: AbortSignal): Promise<Described[]> {
  const listed = parseListAll(await runVirsh(['list', '--all'], { uri, ...(signal && { signal }) }));
  const commands = listed.map((domain) => commandsFor(domain.name, stateOf(domain.state)));
  const results = await runVirshBatch(commands.flat(), { uri, ...(signal && { signal }) });
  let next = 0;
  return listed.flatMap((domain, i) => {
    const own = results.slice(next, (next += commands[i]!.length));
    // A container undefined between the two calls is simply no longer reported.
    return own[0]?.error ? [] : [{ name: domain.name, state: stateOf(domain.state), results: own }];
  });
}

/** One batch whatever the state: the live commands simply fail on a stopped container. */
async function describeOne(uri: string, name: string, signal?: AbortSignal): Promise<Described[] | undefined> {
  const [domstate, ...results] = await runVirshBatch([['domstate', name], ...commandsFor(name, 'running')], { uri, ...(signal && { signal }) });
  if (domstate?.error) throw domstate.error;
  return [{ name, state: stateOf(domstate!.stdout), results }];
}

function commandsFor(name: string, state: VmState): string[][] {
  const live = isLive(state) ? LIVE_COMMANDS.map((command) => [...command.split(' '), name]) : [];
  return [['dumpxml', name], ...live];
}

function isLive(state: VmState): boolean {
  return state === 'running' || state === 'paused';
}

function usable(result: VirshCommandResult | undefined): string | undefined {
  return result && !result.error ? result.stdout : undefined;
}

/** `virsh domiflist`: the first column under the dashes, "-" when there is no device. */
function interfaceNames(result: VirshCommandResult | undefined): string[] {
  const text = usable(result);
  if (!text) return [];
  const rows = text.split('\n');
  const start = rows.findIndex((row) => /^-+$/.test(row.trim()));
  return rows.slice(start + 1).map((row) => row.trim().split(/\s+/)[0] ?? '').filter((nic) => nic !== '' && nic !== '-');
}

function nicStats(name: string, result: VirshCommandResult | undefined): NicStats {
  const counters = parseCounterLines(usable(result) ?? '');
  const get = (key: string) => counters.get(key) ?? null;
  return {
    name,
    rx_bytes: get('rx_bytes'),
    rx_packets: get('rx_packets'),
    rx_errs: get('rx_errs'),
    rx_drop: get('rx_drop'),
    tx_bytes: get('tx_bytes'),
    tx_packets: get('tx_packets'),
    tx_errs: get('tx_errs'),
    tx_drop: get('tx_drop'),
  };
}

function containerStats(container: Described, nics: NicStats[]): VmStats {
  const [xml, , cpu, memstat, blkstat] = container.results.map(usable);
  const domain = xml ? parseDomainXml(xml) : undefined;
  const live = isLive(container.state);
  const cpuNs = live && cpu ? parseCpuStatsTotalNs(cpu) : null;
  const memory = live ? parseCounterLines(memstat ?? '') : new Map<string, number>();
  const block = live && blkstat ? parseCounterLines(blkstat) : undefined;
  return {
    name: container.name,
    driver: 'lxc',
    state: container.state,
    cpu_time_ms: cpuNs === null ? null : Math.floor(cpuNs / 1e6),
    vcpus: domain?.vcpus ?? null,
    memory: {
      current_kib: domain ? domain.memory_mb * 1024 : null,
      maximum_kib: domain ? domain.max_memory_mb * 1024 : null,
      rss_kib: memory.get('rss') ?? null,
      guest_available_kib: null,
      guest_usable_kib: null,
      guest_unused_kib: null,
    },
    disks: block
      ? [{ name: 'total', path: null, rd_bytes: block.get('rd_bytes') ?? null, rd_reqs: block.get('rd_req') ?? null, wr_bytes: block.get('wr_bytes') ?? null, wr_reqs: block.get('wr_req') ?? null }]
      : [],
    nics,
  };
}
