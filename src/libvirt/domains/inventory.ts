import type { HvConfig } from '../../config/schema.js';
import { runVirsh, runVirshBatch, VirshError } from '../index.js';
import { parseDomainXml, type DomainDescription } from '../parse/domain.js';
import { stateOf, type VmState } from './states.js';
import { uriFor, type Driver } from './connections.js';

// Every domain defined on one connection, for the readers that need them all (vm list,
// which VMs use a volume, which MACs are taken). An LXC connection that does not answer
// has no containers: a host may run QEMU guests only.

export async function definedDomainNames(config: HvConfig, driver: Driver, signal?: AbortSignal): Promise<string[]> {
  try {
    const listed = await runVirsh(['list', '--all', '--name'], { uri: uriFor(config, driver), ...(signal && { signal }) });
    return listed.split('\n').map((line) => line.trim()).filter(Boolean);
  } catch (error) {
    if (driver === 'lxc' && error instanceof VirshError && error.code === 'HYPERVISOR_UNREACHABLE') return [];
    throw error;
  }
}

export interface DefinedDomain {
  name: string;
  state: VmState;
  domain: DomainDescription;
}

/**
 * Each defined domain's state and definition: the list, then one batch for all of them
 * (for the LXC driver, which has no domstats). A domain undefined between the two calls
 * is simply no longer there.
 */
export async function describeDefinedDomains(config: HvConfig, driver: Driver, signal?: AbortSignal): Promise<DefinedDomain[]> {
  const names = await definedDomainNames(config, driver, signal);
  const results = await runVirshBatch(
    names.flatMap((name) => [['domstate', name], ['dumpxml', name]]),
    { uri: uriFor(config, driver), ...(signal && { signal }) },
  );
  return names.flatMap((name, i) => {
    const [state, xml] = [results[2 * i], results[2 * i + 1]];
    if (!state || !xml || state.error || xml.error) return [];
    return [{ name, state: stateOf(state.stdout), domain: parseDomainXml(xml.stdout) }];
  });
}
