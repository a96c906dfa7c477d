import { checkUserData, composeUserData, hostnameOfVm, isHostname, parseAuthorizedKeys, parseHostKeyTypes, DEFAULT_HOST_KEY_TYPES, type CheckedUserData, type HostKeyType } from '../cloudinit/index.js';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { VmClass } from '../model/vm-classes.js';
import type { NicAddressing } from '../network/addressing.js';
import { openPool, type Pool } from '../storage/index.js';
import { templateForUse, type Template, type TemplateType } from '../templates/index.js';
import type { ProvisionRequest } from './request.js';

// Everything a provisioning request asks for, resolved and checked before anything is
// made: the template exists and suits the VM class, each pool exists and has a plugin
// the class supports, sizes make sense. A request refused here has changed nothing.

export interface VolumePlan {
  pool: Pool;
  name: string;
  sizeMb?: number;
  /** Thin clone (qcow2 pool) or full copy (raw, lvm) of an image template. */
  from?: { kind: 'backing' | 'source'; path: string; format: 'raw' | 'qcow2' };
}

export interface ProvisionPlan {
  template?: Template;
  /** The VM's root volume (its disk, or a container's root directory). */
  root?: VolumePlan;
  data: VolumePlan[];
  /** libvirt networks, one NIC each, in order. */
  networks: string[];
  /** How each NIC of `networks` gets its IPv4 address, in the same order. */
  addressing: NicAddressing[];
  /** For the static NICs. */
  nameservers: string[];
  /** The first-boot configuration, when the guest is to be given one. */
  cloudInit?: CloudInitPlan;
  /** network → the address to reserve for its NIC (ipv4 dhcp:ADDRESS). */
  reserved: Map<string, string>;
}

export interface CloudInitPlan {
  /** A volume attached as a CD-ROM (QEMU), or files in the container's new root volume. */
  seed: { kind: 'volume'; volume: VolumePlan } | { kind: 'directory' };
  hostname: string;
  /** The #cloud-config document, the keys added. */
  userData: string;
  /** SSH host keys to make on the host and give the guest ([] when none: the guest makes its own). */
  hostKeyTypes: HostKeyType[];
  /** Names and addresses the guest is reached by, for the known_hosts lines of its host keys. */
  knownHosts: string[];
}

export async function planProvisioning(config: HvConfig, vmClass: VmClass, request: ProvisionRequest): Promise<ProvisionPlan> {
  const { name } = request;
  // A bare name is the class's default type (image for qemu and kvm, lxc for lxc). Its
  // file is made durable here, before anything copies, clones, unpacks or attaches it.
  const template = request.template === undefined ? undefined : await templateForUse(config, request.template, 'template', vmClass.defaultTemplateType as TemplateType);
  if (template && !vmClass.templateTypes.includes(template.type)) {
    throw new HvError('UNSUPPORTED', `vm_class ${vmClass.name} cannot be provisioned from ${template.type} templates (it takes ${vmClass.templateTypes.join(', ')})`, {
      input: 'template',
    });
  }
  if (template && template.type !== 'pxe' && (request.disk !== undefined || request.rootfs !== undefined)) {
    const input = request.disk !== undefined ? 'disk' : 'rootfs';
    throw new HvError('INPUT_INVALID', `Input '${input}' and a ${template.type} template both say what the VM boots from: give one`, { input });
  }

  const networks = [...request.networks];
  if (new Set(networks).size !== networks.length) {
    throw new HvError('INPUT_INVALID', "Input 'network' names a network twice", { input: 'network' });
  }
  if (template?.type === 'pxe' && !networks.includes(template.network)) networks.unshift(template.network);

  const sizeMb = request.diskSizeMb;
  const wantsRoot = sizeMb !== undefined || (template !== undefined && template.type !== 'pxe');
  const root = wantsRoot ? rootVolume(config, vmClass, name, template, sizeMb, request.pool) : undefined;
  if (root && request.rootfs !== undefined) {
    throw new HvError('INPUT_INVALID', "Input 'rootfs' and a provisioned root volume both give the container's root: give one", { input: 'rootfs' });
  }
  if (!root && request.pool !== undefined) {
    throw new HvError('INPUT_INVALID', "Input 'pool' is for the root volume: give a template or disk_size_mb", { input: 'pool' });
  }

  const data = request.dataDisks.map((disk, index) => {
    const pool = poolFor(config, vmClass, disk.pool, 'data_disks');
    if (pool.attach === 'directory') throw new HvError('UNSUPPORTED', `Input 'data_disks': pool '${disk.pool}' holds directories, not disks`, { input: 'data_disks' });
    return { pool, name: `${name}-data${index + 1}`, sizeMb: disk.sizeMb };
  });
  if (data.length > 0 && vmClass.name === 'lxc') throw new HvError('UNSUPPORTED', 'vm_class lxc takes no data disks', { input: 'data_disks' });

  const addressing = nicAddressing(request, networks);
  const reserved = reservedAddresses(networks, addressing);
  const nameservers = [...(request.nameservers ?? [])];
  const cloudInit = planCloudInit(config, vmClass, request, root, addressing, nameservers);
  return { ...(template && { template }), ...(root && { root }), data, networks, addressing, nameservers, ...(cloudInit && { cloudInit }), reserved };
}

/** The request's addressing aligned with the NICs (a PXE template's network, put first, uses DHCP). */
function nicAddressing(request: ProvisionRequest, networks: readonly string[]): NicAddressing[] {
  const given = request.nicAddressing ?? [];
  if (given.length > request.networks.length) {
    throw new HvError('INPUT_INVALID', `Input 'ipv4' has ${given.length} entries for ${request.networks.length} NICs (one entry per network of input 'network', in order)`, {
      input: 'ipv4',
    });
  }
  return networks.map((network) => given[request.networks.indexOf(network)] ?? { kind: 'dhcp' });
}

/** network → the address reserved for its NIC (`dhcp:ADDRESS`), each address once. */
export function reservedAddresses(networks: readonly string[], addressing: readonly NicAddressing[]): Map<string, string> {
  const reserved = new Map<string, string>();
  addressing.forEach((entry, slot) => {
    if (entry.kind === 'reserved') reserved.set(networks[slot]!, entry.address);
  });
  const addresses = [...reserved.values()];
  if (new Set(addresses).size !== addresses.length) throw new HvError('INPUT_INVALID', "Input 'ipv4' reserves one address twice", { input: 'ipv4' });
  return reserved;
}

/**
 * What the guest is told at first boot, every input checked; undefined when nothing is to
 * be told (no cloud-init input, every NIC on DHCP).
 */
function planCloudInit(
  config: HvConfig,
  vmClass: VmClass,
  request: ProvisionRequest,
  root: VolumePlan | undefined,
  addressing: readonly NicAddressing[],
  nameservers: readonly string[],
): CloudInitPlan | undefined {
  const anyStatic = addressing.some((nic) => nic.kind === 'static');
  if (nameservers.length > 0 && !anyStatic) {
    throw new HvError('INPUT_INVALID', "Input 'dns' is for static NICs (ipv4 entries ADDRESS/PREFIX); DHCP NICs are told their nameservers by DHCP", { input: 'dns' });
  }
  const given = request.cloudInit;
  if (!given && !anyStatic) return undefined;
  if (given && Object.keys(given).every((input) => input === 'sshHostKeys') && !anyStatic) {
    if (given.sshHostKeys !== undefined && parseHostKeyTypes(given.sshHostKeys, 'ssh_host_keys').length === 0) return undefined;
    throw new HvError('INPUT_INVALID', "Input 'ssh_host_keys' is for a guest given cloud-init data: give hostname, ssh_authorized_keys, user_data or a static ipv4 too", { input: 'ssh_host_keys' });
  }
  const keys = given?.sshAuthorizedKeys === undefined ? [] : parseAuthorizedKeys(given.sshAuthorizedKeys);
  const userData = given?.userData === undefined ? undefined : checkUserData(given.userData);
  if (given?.hostname !== undefined && !isHostname(given.hostname)) {
    throw new HvError('INPUT_INVALID', "Input 'hostname' is not a host name (letters, digits and '-' in dot-separated labels of at most 63)", { input: 'hostname' });
  }
  if (given?.hostname !== undefined && userData?.hostname !== undefined && userData.hostname !== given.hostname) {
    throw new HvError('INPUT_INVALID', "Input 'hostname' and the hostname key of input 'user_data' differ: give one", { input: 'hostname' });
  }
  const hostname = given?.hostname ?? (userData?.hostname !== undefined && isHostname(userData.hostname) ? userData.hostname : hostnameOfVm(request.name));
  if (hostname === undefined) {
    throw new HvError('INPUT_REQUIRED', `Input 'hostname' is needed: the VM name '${request.name}' is not a host name`, { input: 'hostname' });
  }
  const seed = seedPlacement(config, vmClass, request, root);
  const hostKeyTypes = plannedHostKeyTypes(config, given?.sshHostKeys, userData);
  const addresses = addressing.flatMap((nic) => (nic.kind === 'static' || nic.kind === 'reserved' ? [nic.address] : []));
  return { seed, hostname, userData: composeUserData(userData, keys), hostKeyTypes, knownHosts: [request.name, hostname, ...addresses] };
}

/**
 * The host keys made for the guest: the request's types, else the configuration's. A
 * user_data that says itself what they are (ssh_keys) or which the guest makes
 * (ssh_genkeytypes) wins over the configuration, and cannot be given with the input.
 */
function plannedHostKeyTypes(config: HvConfig, input: string | undefined, userData: CheckedUserData | undefined): HostKeyType[] {
  const asked = input === undefined ? undefined : parseHostKeyTypes(input, 'ssh_host_keys');
  if (userData?.setsHostKeys) {
    if (asked !== undefined && asked.length > 0) {
      throw new HvError('INPUT_INVALID', "Input 'ssh_host_keys' and the ssh_keys or ssh_genkeytypes key of input 'user_data' both say what the guest's host keys are: give one (or ssh_host_keys=none)", {
        input: 'ssh_host_keys',
      });
    }
    return [];
  }
  return asked ?? [...(config.cloud_init?.ssh_host_keys ?? DEFAULT_HOST_KEY_TYPES)];
}

function seedPlacement(config: HvConfig, vmClass: VmClass, request: ProvisionRequest, root: VolumePlan | undefined): CloudInitPlan['seed'] {
  if (vmClass.name === 'lxc') {
    if (root?.pool.attach === 'directory') return { kind: 'directory' };
    const input = firstCloudInitInput(request);
    throw new HvError('INPUT_INVALID', `Input '${input}': a container's cloud-init data is written into the root volume this request makes: give a template or disk_size_mb (not rootfs)`, { input });
  }
  // On the VM's pool (its root volume's, else the class's default), so that the pool's
  // limits count it and `volume list` shows it.
  const pool = root && root.pool.attach !== 'directory' ? root.pool : defaultPool(config, vmClass);
  return { kind: 'volume', volume: { pool, name: `${request.name}-cidata` } };
}

function firstCloudInitInput(request: ProvisionRequest): string {
  const given = request.cloudInit;
  if (given?.hostname !== undefined) return 'hostname';
  if (given?.sshAuthorizedKeys !== undefined) return 'ssh_authorized_keys';
  if (given?.userData !== undefined) return 'user_data';
  return 'ipv4';
}

function rootVolume(config: HvConfig, vmClass: VmClass, vmName: string, template: Template | undefined, sizeMb: number | undefined, poolName: string | undefined): VolumePlan {
  const pool = poolName === undefined ? defaultPool(config, vmClass) : poolFor(config, vmClass, poolName, 'pool');
  const name = `${vmName}-root`;
  if (template?.type === 'iso' && sizeMb === undefined) {
    throw new HvError('INPUT_REQUIRED', `Input 'disk_size_mb': ${template.ref} installs onto an empty root volume: give its size`, { input: 'disk_size_mb' });
  }
  if (template?.type !== 'image') return { pool, name, ...(sizeMb !== undefined && { sizeMb }) };
  if (sizeMb !== undefined && sizeMb < template.virtualSizeMb) {
    throw new HvError('INPUT_INVALID', `Input 'disk_size_mb': ${template.ref} needs at least ${template.virtualSizeMb} MiB`, { input: 'disk_size_mb' });
  }
  const kind = pool.plugin === 'qcow2' ? 'backing' : 'source';
  return { pool, name, ...(sizeMb !== undefined && { sizeMb }), from: { kind, path: template.path, format: template.format } };
}

function poolFor(config: HvConfig, vmClass: VmClass, poolName: string, input: string): Pool {
  const pool = openPool(config, poolName);
  if (!vmClass.storagePlugins.includes(pool.plugin)) {
    throw new HvError('UNSUPPORTED', `Input '${input}': pool '${poolName}' is ${pool.plugin}; vm_class ${vmClass.name} takes ${vmClass.storagePlugins.join(', ')}`, { input });
  }
  return pool;
}

function defaultPool(config: HvConfig, vmClass: VmClass): Pool {
  const name = Object.entries(config.storage.pools).find(([, pool]) => vmClass.storagePlugins.includes(pool.plugin))?.[0];
  if (!name) throw new HvError('CONFIG_INVALID', `No storage pool is configured for vm_class ${vmClass.name} (it takes ${vmClass.storagePlugins.join(', ')})`);
  return openPool(config, name);
}
