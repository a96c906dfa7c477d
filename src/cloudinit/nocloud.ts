import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { HvError } from '../core/errors.js';

// The three files of a NoCloud seed (cloud-init's NoCloud datasource, on a CD-ROM labelled
// cidata or in /var/lib/cloud/seed/nocloud): meta-data says which instance this is and its
// name, user-data is the #cloud-config (user-data.ts), network-config is version 2 with each
// NIC matched by its MAC address.

export interface NoCloudFiles {
  readonly 'meta-data': string;
  readonly 'user-data': string;
  readonly 'network-config': string;
}

export const NOCLOUD_FILES = ['meta-data', 'user-data', 'network-config'] as const;

/** How one NIC gets its IPv4 address, as the guest is told. */
export type GuestIpv4 =
  | { readonly dhcp: true }
  | { readonly dhcp: false; readonly address: string; readonly prefix: number; readonly gateway?: string; readonly nameservers: readonly string[] };

export interface GuestNic {
  readonly mac: string;
  readonly ipv4: GuestIpv4;
}

export interface NoCloudData {
  /** New for each provision and kept in the seed: cloud-init runs its once-per-instance work once. */
  readonly instanceId: string;
  readonly hostname: string;
  /** The composed #cloud-config document. */
  readonly userData: string;
  /** In the domain's order: the guest names them eth0, eth1, … */
  readonly nics: readonly GuestNic[];
}

const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

export function isHostname(name: string): boolean {
  return name.length <= 253 && HOSTNAME.test(name);
}

/** A VM's name as a host name ('_' becomes '-'), or undefined when it cannot be one. */
export function hostnameOfVm(vmName: string): string | undefined {
  const candidate = vmName.replaceAll('_', '-');
  return isHostname(candidate) ? candidate : undefined;
}

export function newInstanceId(): string {
  return `iid-${randomUUID()}`;
}

export function noCloudFiles(data: NoCloudData): NoCloudFiles {
  if (!isHostname(data.hostname)) throw new HvError('INPUT_INVALID', `Input 'hostname': not a host name (letters, digits and '-' in dot-separated labels)`, { input: 'hostname' });
  return {
    'meta-data': stringify({ 'instance-id': data.instanceId, 'local-hostname': data.hostname }),
    'user-data': data.userData,
    'network-config': networkConfig(data.nics),
  };
}

/**
 * network-config version 2. Each NIC is matched by MAC and named eth<slot>: cloud-init's
 * ifupdown (ENI) renderer, which Debian's images use, writes stanzas under the name it is
 * given, so a name must be set for them to reach the device. The default route is
 * `gateway4` rather than a `routes` entry: ENI renders routes with net-tools' `route`,
 * which cloud images often lack, and a gateway natively.
 */
export function networkConfig(nics: readonly GuestNic[]): string {
  const ethernets = Object.fromEntries(
    nics.map((nic, slot) => {
      const name = `eth${slot}`;
      const base = { match: { macaddress: nic.mac }, 'set-name': name };
      const { ipv4 } = nic;
      if (ipv4.dhcp) return [name, { ...base, dhcp4: true }];
      return [
        name,
        {
          ...base,
          dhcp4: false,
          addresses: [`${ipv4.address}/${ipv4.prefix}`],
          ...(ipv4.gateway && { gateway4: ipv4.gateway }),
          ...(ipv4.nameservers.length > 0 && { nameservers: { addresses: [...ipv4.nameservers] } }),
        },
      ];
    }),
  );
  return stringify({ version: 2, ethernets });
}
