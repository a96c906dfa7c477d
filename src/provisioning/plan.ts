import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { VmClass } from '../model/vm-classes.js';
import { openPool, type Pool } from '../storage/index.js';
import { reservedAddresses } from './nic-addressing.js';
import { findTemplate, type Template } from '../templates/index.js';
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
  /** network → the address to reserve for its NIC (ipv4 dhcp:ADDRESS). */
  reserved: Map<string, string>;
}

export async function planProvisioning(config: HvConfig, vmClass: VmClass, request: ProvisionRequest): Promise<ProvisionPlan> {
  const { name } = request;
  const template = request.template === undefined ? undefined : await findTemplate(config, request.template);
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
  const reserved = reservedAddresses(networks, request.ipv4 ?? []);
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

  return { ...(template && { template }), ...(root && { root }), data, networks, reserved };
}

function rootVolume(config: HvConfig, vmClass: VmClass, vmName: string, template: Template | undefined, sizeMb: number | undefined, poolName: string | undefined): VolumePlan {
  const pool = poolName === undefined ? defaultPool(config, vmClass) : poolFor(config, vmClass, poolName, 'pool');
  const name = `${vmName}-root`;
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
