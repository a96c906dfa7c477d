import type { ActionHandler } from '../../core/action.js';
import { runVirsh, runVirshBatch, VirshError } from '../../libvirt/index.js';
import { parseDomainXml } from '../../vm/domain-parse.js';
import { reconcileEmbedded } from '../../monitoring/vm-states.js';
import { stateOf, uriFor, type Driver, type VmState } from '../../vm/hypervisor.js';

// One virsh process per driver, whatever the number of VMs: `domstats` for QEMU; the
// LXC driver has no domstats, so its (few) containers are listed, then described in one
// batch.

interface ListedVm {
  name: string;
  driver: Driver;
  state: VmState;
  vcpus: number;
  memory_mb: number;
}

const DOMSTATS_STATE: Record<string, VmState> = { '1': 'running', '2': 'running', '3': 'paused', '5': 'shutoff' };

export function parseDomstats(text: string): ListedVm[] {
  const vms: ListedVm[] = [];
  let stats: Record<string, string> | undefined;
  let name = '';
  const flush = () => {
    if (!stats) return;
    const memoryKib = Number(stats['balloon.current'] ?? stats['balloon.maximum'] ?? 0);
    vms.push({
      name,
      driver: 'qemu',
      state: DOMSTATS_STATE[stats['state.state'] ?? ''] ?? 'other',
      vcpus: Number(stats['vcpu.current'] ?? 0),
      memory_mb: Math.floor(memoryKib / 1024),
    });
  };
  for (const line of text.split('\n')) {
    const domain = /^Domain: '(.*)'$/.exec(line);
    if (domain) {
      flush();
      name = domain[1]!;
      stats = {};
      continue;
    }
    const pair = /^\s+([a-z0-9_.]+)=(.*)$/.exec(line);
    if (pair && stats) stats[pair[1]!] = pair[2]!;
  }
  flush();
  return vms;
}

async function listLxc(uri: string, signal: AbortSignal): Promise<ListedVm[]> {
  let names: string[];
  try {
    names = (await runVirsh(['list', '--all', '--name'], { uri, signal })).split('\n').map((line) => line.trim()).filter(Boolean);
  } catch (error) {
    // A host without a working LXC driver simply has no containers.
    if (error instanceof VirshError && error.code === 'HYPERVISOR_UNREACHABLE') return [];
    throw error;
  }
  // The assigned memory is in the definition: dominfo's "Used memory" is what a container uses now.
  const results = await runVirshBatch(names.flatMap((name) => [['domstate', name], ['dumpxml', name]]), { uri, signal });
  return names.flatMap((name, i) => {
    const [state, xml] = [results[2 * i], results[2 * i + 1]];
    // A container undefined between the two calls is simply no longer listed.
    if (!state || !xml || state.error || xml.error) return [];
    const domain = parseDomainXml(xml.stdout);
    return [{ name, driver: 'lxc' as const, state: stateOf(state.stdout), vcpus: domain.vcpus, memory_mb: domain.memory_mb }];
  });
}

export const list: ActionHandler = async ({ inputs, config, signal }) => {
  const wantDriver = String(inputs.driver);
  const wantState = String(inputs.state);
  const [qemu, lxc] = await Promise.all([
    wantDriver === 'lxc' ? [] : runVirsh(['domstats', '--raw', '--state', '--balloon', '--vcpu'], { uri: uriFor(config, 'qemu'), signal }).then(parseDomstats),
    wantDriver === 'qemu' ? [] : listLxc(uriFor(config, 'lxc'), signal),
  ]);
  const qemuUri = uriFor(config, 'qemu');
  await reconcileEmbedded(qemuUri, qemu, signal);
  const vms = [...qemu, ...lxc]
    .filter((vm) => wantState === 'any' || vm.state === wantState)
    .sort((a, b) => a.name.localeCompare(b.name));
  return { vms, count: vms.length };
};
