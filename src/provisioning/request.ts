import type { VmClassName } from '../model/vm-classes.js';
import type { NicFirewallRequest } from '../network/firewall/nic-firewall.js';
import type { NicAddressing } from '../network/addressing.js';

// What a VM is made of, as `vm create` asks for it, typed: the agent translates its DDL
// inputs into this and nothing below the agent sees raw inputs. Refusals still name the
// request's input (`Input 'disk_size_mb': …`), which is what the caller can change.

export interface ProvisionRequest {
  readonly name: string;
  readonly vmClass: VmClassName;
  readonly memoryMb: number;
  /** Defaults to memoryMb. */
  readonly maxMemoryMb?: number;
  readonly vcpus: number;
  /** Defaults to vcpus. */
  readonly maxVcpus?: number;

  /** Boot sources given by path (each must lie in paths.images). */
  readonly kernel?: string;
  readonly initrd?: string;
  readonly cmdline?: string;
  readonly disk?: string;
  readonly diskFormat?: 'raw' | 'qcow2';
  readonly rootfs?: string;

  /** `type:name` of the template the root volume is made from. */
  readonly template?: string;
  /** Pool of the root volume (default: the first pool the class can use). */
  readonly pool?: string;
  /** Size of the root volume (MiB); an empty one when no template gives its content. */
  readonly diskSizeMb?: number;
  /** Empty volumes attached after the root one, `<name>-data1`, `-data2`, … */
  readonly dataDisks: readonly { pool: string; sizeMb: number }[];
  /** libvirt networks, one NIC with a stable MAC each, in order. */
  readonly networks: readonly string[];
  /** How each NIC of `networks` gets its IPv4 address (DHCP, a DHCP reservation, or static), in the same order; DHCP for NICs without an entry. */
  readonly nicAddressing?: readonly NicAddressing[];
  /** Nameservers the guest is told for its static NICs. */
  readonly nameservers?: readonly string[];
  /** First-boot configuration (cloud-init NoCloud); a seed is made when this is given or a NIC is static. */
  readonly cloudInit?: CloudInitRequest;
  /** The firewall of every NIC it makes (the configured default filter when left out). */
  readonly firewall?: NicFirewallRequest;

  readonly start: boolean;
  readonly autostart: boolean;
  /** Who asked, and under which request id: kept in the domain's metadata. */
  readonly createdBy?: string;
  readonly requestId?: string;
}

/** What the guest is told at first boot, as given (provisioning checks each). Secrets: never logged. */
export interface CloudInitRequest {
  readonly hostname?: string;
  /** OpenSSH public keys, one a line. */
  readonly sshAuthorizedKeys?: string;
  /** A #cloud-config document. */
  readonly userData?: string;
  /** Types of the SSH host keys made on the host (`ed25519,ecdsa,rsa` or `none`); the configuration's when left out. */
  readonly sshHostKeys?: string;
}
