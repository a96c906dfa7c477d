import type { HvConfig } from '../config/schema.js';
import { runVirshBatch } from '../libvirt/index.js';
import { definedDomainNames } from '../libvirt/domains/inventory.js';
import { uriFor, type Driver } from '../libvirt/domains/connections.js';

// One attribute of every NIC of every defined domain, on both connections, in the running
// and the persistent definition (they differ while a change waits for the next boot): which
// MACs are taken, which VMs have a NIC on a network. One list and one batch per connection,
// whatever the number of domains.

export interface DomainInterfaceValues {
  vm: string;
  driver: Driver;
  /** Whether the domain runs (or is paused): only then do its `live` values exist. */
  active: boolean;
  live: string[];
  persistent: string[];
}

/** An attribute of every <interface>, e.g. `mac/@address` or `source/@network`. */
export async function interfaceAttribute(config: HvConfig, path: string, signal?: AbortSignal): Promise<DomainInterfaceValues[]> {
  const perDriver = await Promise.all((['qemu', 'lxc'] as Driver[]).map((driver) => valuesOn(driver, config, `/domain/devices/interface/${path}`, signal)));
  return perDriver.flat();
}

async function valuesOn(driver: Driver, config: HvConfig, xpath: string, signal?: AbortSignal): Promise<DomainInterfaceValues[]> {
  const names = await definedDomainNames(config, driver, signal);
  if (names.length === 0) return [];
  const commands = [['list', '--name'], ...names.flatMap((name) => [['dumpxml', '--xpath', xpath, `--domain=${name}`], ['dumpxml', '--inactive', '--xpath', xpath, `--domain=${name}`]])];
  const [running, ...results] = await runVirshBatch(commands, { uri: uriFor(config, driver), ...(signal && { signal }) });
  const active = new Set(running?.error ? [] : running!.stdout.split('\n').map((line) => line.trim()).filter(Boolean));
  // A domain undefined between the list and the batch has no NICs any more.
  return names.flatMap((vm, index) => {
    const [live, persistent] = [results[2 * index]!, results[2 * index + 1]!];
    if (live.error && persistent.error) return [];
    const isActive = active.has(vm);
    return [{ vm, driver, active: isActive, live: isActive && !live.error ? attributeValues(live.stdout) : [], persistent: persistent.error ? [] : attributeValues(persistent.stdout) }];
  });
}

/** The values `dumpxml --xpath …/@attr` prints, one ` attr="value"` per line. */
export function attributeValues(output: string): string[] {
  return [...output.matchAll(/[A-Za-z_:-]+="([^"]*)"/g)].map((match) => match[1]!);
}
