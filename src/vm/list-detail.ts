import type { HvConfig } from '../config/schema.js';
import { uriFor, type Driver } from '../libvirt/domains/connections.js';
import { parseDomainXml, type DomainDescription } from '../libvirt/parse/domain.js';
import { runVirshBatch } from '../libvirt/virsh.js';
import { leasesByMac } from '../network/leases.js';

// `vm list details=true`: each VM's class and IPv4 addresses, for tables across a fleet
// (mco hvagent list). It costs one more virsh process per connection with VMs (their
// definitions in one batch) and one for the DHCP leases of the networks running VMs use;
// plain `vm list` stays one domstats.

export interface ListDetail {
  readonly vm_class: string;
  /** From libvirt's DHCP leases: known for NICs on a libvirt network, while the VM is not shut off. */
  readonly ipv4: string[];
}

export async function readListDetail(
  config: HvConfig,
  vms: ReadonlyArray<{ name: string; driver: Driver; state: string }>,
  signal: AbortSignal,
): Promise<Map<string, ListDetail>> {
  const byDriver = (driver: Driver) => vms.filter((vm) => vm.driver === driver);
  const domains = new Map<string, DomainDescription>();
  await Promise.all(
    (['qemu', 'lxc'] as const).map(async (driver) => {
      const names = byDriver(driver).map((vm) => vm.name);
      if (names.length === 0) return;
      const results = await runVirshBatch(
        names.map((name) => ['dumpxml', name]),
        { uri: uriFor(config, driver), signal },
      );
      // A VM undefined since it was listed keeps its row, without detail.
      names.forEach((name, i) => {
        const xml = results[i];
        if (xml && !xml.error) domains.set(`${driver}/${name}`, parseDomainXml(xml.stdout));
      });
    }),
  );
  const live = vms.filter((vm) => vm.state !== 'shutoff');
  const networks = [...new Set(live.flatMap((vm) => domains.get(`${vm.driver}/${vm.name}`)?.nics.flatMap((nic) => (nic.network ? [nic.network] : [])) ?? []))];
  // Networks belong to the QEMU connection; containers on them lease from the same dnsmasq.
  const leases = networks.length > 0 ? await leasesByMac(uriFor(config, 'qemu'), networks, signal) : new Map<string, string>();
  return new Map(
    vms.map((vm) => {
      const domain = domains.get(`${vm.driver}/${vm.name}`);
      const ipv4 = vm.state === 'shutoff' ? [] : (domain?.nics ?? []).flatMap((nic) => (nic.mac && leases.has(nic.mac.toLowerCase()) ? [leases.get(nic.mac.toLowerCase())!] : []));
      return [vm.name, { vm_class: domain?.vm_class ?? (vm.driver === 'lxc' ? 'lxc' : 'unknown'), ipv4 }];
    }),
  );
}
