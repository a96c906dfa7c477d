import { setTimeout as sleep } from 'node:timers/promises';
import { HvError } from '../core/errors.js';
import { runVirsh } from '../libvirt/index.js';
import type { Located } from '../libvirt/domains/locate.js';
import { withXmlFile } from '../libvirt/xml-file.js';
import type { DomainNic } from './domain-nics.js';
import { buildInterfaceXml, type InterfaceSpec, type NicSource } from './nic-xml.js';

// Plugging NICs in and out with attach-device / detach-device. `--config` changes the
// persistent definition, `--live` the running domain; both in one call change both or
// neither.

const POLL_MS = 250;

export type Scope = '--live' | '--config';

export async function attachInterface(vm: Located, spec: InterfaceSpec, scopes: readonly Scope[], signal?: AbortSignal): Promise<void> {
  await withXmlFile(buildInterfaceXml(spec), (file) => runVirsh(['attach-device', `--domain=${vm.name}`, `--file=${file}`, ...scopes], { uri: vm.uri, ...(signal && { signal }) }));
}

/** The source an existing NIC was plugged into, as attach-device names it. */
export function sourceOf(nic: DomainNic): NicSource {
  if (nic.type === 'network' && nic.network) return { network: nic.network };
  if (nic.type === 'bridge' && nic.bridge) return { bridge: nic.bridge };
  throw new HvError('UNSUPPORTED', `NIC ${nic.mac} is of type ${nic.type}; hvagent plugs only network and bridge NICs`, { mac: nic.mac, type: nic.type });
}

export async function detachInterface(vm: Located, nic: DomainNic, scope: Scope, signal?: AbortSignal): Promise<void> {
  // libvirt finds the NIC by its MAC: the element only needs to parse.
  const xml = buildInterfaceXml({ source: sourceOf(nic), mac: nic.mac });
  await withXmlFile(xml, (file) => runVirsh(['detach-device', `--domain=${vm.name}`, `--file=${file}`, scope], { uri: vm.uri, ...(signal && { signal }) }));
}

/**
 * Waits until the running domain no longer has the NIC. QEMU removes a PCIe device only
 * once the guest has released it (Linux waits 5 s after the hot-unplug button press);
 * libvirt gives up waiting after 5 s and leaves the removal in flight.
 */
export async function waitForLiveRemoval(vm: Located, mac: string, until: number, signal?: AbortSignal): Promise<boolean> {
  for (;;) {
    const macs = await runVirsh(['dumpxml', '--xpath', '/domain/devices/interface/mac/@address', `--domain=${vm.name}`], { uri: vm.uri, ...(signal && { signal }) });
    if (!macs.toLowerCase().includes(`"${mac}"`)) return true;
    if (Date.now() >= until) return false;
    await sleep(Math.min(POLL_MS, Math.max(0, until - Date.now())), undefined, signal ? { signal } : undefined);
  }
}
