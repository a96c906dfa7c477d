import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { runVirsh, runVirshBatch, stdoutOrThrow } from '../libvirt/index.js';
import { withLockedVm } from '../libvirt/domains/locked.js';
import type { Located } from '../libvirt/domains/locate.js';
import { withXmlFile } from '../libvirt/xml-file.js';
import { VM_CLASSES } from '../model/vm-classes.js';
import { readVmNics } from './domain-nics.js';
import { isNicFilter, readFilter, restoreFilter, undefineFilter } from './firewall/filters.js';
import { checkNicFirewall, defineNicFilter, filterRefOf, firewallView, learningParameters, needsOwnFilter, parseNicFirewall, viewOf, type FirewallView, type NicFirewallRequest } from './firewall/nic-firewall.js';
import { withRuleSetLocks } from './firewall/rule-sets.js';
import { interfaceWithFilter } from './interface-filter.js';
import { readNetwork } from './libvirt-networks.js';
import { normalizeMac } from './mac.js';
import { findNic } from './nic-entries.js';

// `firewall nic_set`: a NIC's firewall replaced by the one the request states. Rules
// reach a running guest at once: a NIC that already refers to its own filter sees that
// filter redefined (libvirt re-applies it); one whose <filterref> must change is updated
// with `update-device --live` and, for the next boot, `--config`. A failure puts the
// NIC's own filter back as it was.

export interface NicFirewallChange {
  readonly vm: Located;
  readonly changed: boolean;
  readonly mac: string;
  /** live (running guest and definition), next_boot (definition only). */
  readonly applied: string;
  readonly firewall: FirewallView;
}

export function setNicFirewall(config: HvConfig, name: string, macInput: string, request: NicFirewallRequest, ctx: OperationContext): Promise<NicFirewallChange> {
  return withLockedVm(config, name, ctx, async (vm) => {
    const { signal } = ctx;
    const uri = config.libvirt.uri;
    const mac = normalizeMac(macInput);
    const vmClass = VM_CLASSES[vm.vmClass];
    if (!vmClass.nicFilters) throw new HvError('UNSUPPORTED', `NICs of vm_class ${vm.vmClass} cannot carry a network filter (docs/NETWORKS.md)`, { input: 'name' });
    const firewall = parseNicFirewall(config, vmClass, request);
    const nics = await readVmNics(vm, signal);
    if (!findNic(nics, mac)) throw new HvError('NOT_FOUND', `Input 'mac': ${vm.name} has no NIC with MAC ${mac}`, { input: 'mac' });
    return withRuleSetLocks(config, firewall.ruleSets, ctx.deadline, async () => {
      await checkNicFirewall(uri, firewall, signal);
      const nic = findNic(nics, mac)!;
      const network = nic.network === null ? undefined : await readNetwork(uri, nic.network, signal);
      // Empty: the NIC's filter keeps the variables it has.
      const target = filterRefOf(mac, firewall, learningParameters(network, mac));
      const running = nics.live !== null;
      const [persistentXml, liveXml] = await readDomainXml(vm, running, signal);
      const current = { persistent: nics.persistent.find((nic) => nic.mac === mac)?.filter ?? null, live: nics.live?.find((nic) => nic.mac === mac)?.filter ?? null };
      const own = current.persistent !== null && isNicFilter(current.persistent) ? await readFilter(uri, current.persistent, signal) : undefined;
      const before = firewallView(current.persistent, own);
      const wanted = viewOf(firewall);
      const unchanged = JSON.stringify(before) === JSON.stringify(wanted) && current.persistent === (target?.name ?? null) && (!running || current.live === current.persistent);
      if (unchanged) return { vm, changed: false, mac, applied: running ? 'live' : 'next_boot', firewall: before };

      const replaced = needsOwnFilter(firewall) ? { xml: await defineNicFilter(uri, mac, firewall, signal) } : undefined;
      try {
        const change = { name: target?.name ?? null, parameters: target?.parameters ?? {} };
        if (current.persistent !== change.name && persistentXml) await updateInterface(vm, interfaceWithFilter(persistentXml, mac, change), '--config', signal);
        if (running && current.live !== change.name && liveXml && nics.live!.some((nic) => nic.mac === mac)) await updateInterface(vm, interfaceWithFilter(liveXml, mac, change), '--live', signal);
      } catch (error) {
        if (replaced?.xml !== undefined) await restoreFilter(uri, replaced.xml).catch(() => undefined);
        else if (replaced) await undefineFilter(uri, target!.name).catch(() => undefined);
        throw error;
      }
      // Its own filter, no longer referred to, goes; libvirt refuses while a live NIC still uses it.
      const dropped = [current.persistent, current.live].find((filter) => filter !== null && isNicFilter(filter) && filter !== target?.name);
      if (dropped) await undefineFilter(uri, dropped, signal).catch(() => undefined);

      return { vm, changed: true, mac, applied: running ? 'live' : 'next_boot', firewall: wanted };
    });
  });
}

async function readDomainXml(vm: Located, running: boolean, signal: AbortSignal): Promise<[string | undefined, string | undefined]> {
  const results = await runVirshBatch([['dumpxml', '--inactive', `--domain=${vm.name}`], ...(running ? [['dumpxml', `--domain=${vm.name}`]] : [])], { uri: vm.uri, signal });
  return [stdoutOrThrow(results[0]!), results[1] && stdoutOrThrow(results[1])];
}

async function updateInterface(vm: Located, xml: string | undefined, scope: '--live' | '--config', signal: AbortSignal): Promise<void> {
  if (xml === undefined) return;
  await withXmlFile(xml, (file) => runVirsh(['update-device', `--domain=${vm.name}`, `--file=${file}`, scope], { uri: vm.uri, signal }));
}
