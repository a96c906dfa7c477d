import { join } from 'node:path';
import type { ActionContext, ActionHandler } from '../contract.js';
import { HvError } from '../../core/errors.js';
import { hostHasHardwareVirtualisation } from '../../libvirt/hardware-virtualisation.js';
import { mustReadNetwork } from '../../network/libvirt-networks.js';
import { macsInUse, stableMac } from '../../network/mac.js';
import { VM_CLASSES, type VmClass, type VmClassName } from '../../model/vm-classes.js';
import type { NicSpec } from '../../vm/domain-xml.js';
import { findDefined, uriFor } from '../../libvirt/domains/locate.js';
import { resolveAllowedPath } from '../../files/containment.js';
import { provision, type BaseSpec } from '../../provisioning/execute.js';
import { planProvisioning, type ProvisionPlan } from '../../provisioning/plan.js';
import { withVolumeLock } from '../../storage/index.js';
import { changeReply, underVmLock, vmName } from './common.js';

// Everything that can be refused is checked before anything is made; from then on each
// step's undo is registered, so a failure leaves nothing behind (vm/provision).

export const create: ActionHandler = async (context) => {
  const vmClass = VM_CLASSES[context.inputs.vm_class as VmClassName];
  if (vmClass.name === 'kvm' && !(await hostHasHardwareVirtualisation())) {
    throw new HvError('UNSUPPORTED', 'vm_class kvm is not offered on this host: it has no usable hardware virtualisation (use qemu)');
  }
  const name = vmName(context);
  const uri = uriFor(context.config, vmClass.name === 'lxc' ? 'lxc' : 'qemu');

  // Provisioning is a hot path where each answer costs a process, so what can overlap
  // does: the plan (catalogue, pools) is read while the VM's lock is being taken; then,
  // under it, libvirt is asked whether the name is free, whether the networks exist and
  // which MACs are taken while the volumes' locks are taken and the volumes made. Nothing
  // is defined before those answers are in; a VM that exists after all undoes the volumes.
  const planning = planProvisioning(context, vmClass, name);
  planning.catch(() => undefined); // awaited under the lock; never an unhandled rejection meanwhile
  return underVmLock(context, async () => {
    const plan = await planning;
    const base = baseSpec(context, vmClass, name, plan);
    const lookups = Promise.all([
      findDefined(context.config, name, context.signal),
      plan.networks.length > 0 ? macsInUse(context.config, context.signal) : new Map<string, string>(),
      ...plan.networks.map((network) => mustReadNetwork(uri, network, context.signal)),
    ]);
    lookups.catch(() => undefined);
    const existingVm = async () => (await lookups.catch(() => [undefined]))[0];
    const nics = async (): Promise<NicSpec[]> => {
      const [existing, taken] = await lookups;
      if (existing) throw alreadyExists(name, existing);
      return plan.networks.map((network, slot) => {
        const mac = stableMac(name, slot, taken);
        taken.set(mac, name);
        return { source: { network }, mac };
      });
    };
    const made = await withPlannedVolumeLocks(context, plan, () => provision(context, uri, base, plan, nics)).catch(async (error: unknown) => {
      // A clash with an existing VM of that name explains any other failure (its volumes exist too).
      const existing = await existingVm();
      throw existing ? alreadyExists(name, existing) : error;
    });
    return changeReply({ name, vmClass: vmClass.name }, true, made.state, {
      template: plan.template?.ref ?? null,
      volumes: made.volumes.map(({ pool, name: volume, path, plugin, format }) => ({ pool, name: volume, path, plugin, format })),
      nics: made.nics.map((nic) => ({ mac: nic.mac ?? null, ...nic.source })),
    });
  });
};

function alreadyExists(name: string, existing: { vmClass: string; state: string }): HvError {
  return new HvError('CONFLICT', `A VM named '${name}' already exists (${existing.vmClass}, ${existing.state})`);
}

/**
 * Holds the locks of every volume the plan makes until the domain that uses them is
 * defined (or they are removed again): nobody can delete or resize one in between.
 */
function withPlannedVolumeLocks<T>(context: ActionContext, plan: ProvisionPlan, work: () => Promise<T>): Promise<T> {
  const volumes = [...(plan.root ? [plan.root] : []), ...plan.data];
  return volumes.reduceRight<() => Promise<T>>((inner, volume) => () => withVolumeLock(context.config, context.deadline, volume.pool.name, volume.name, inner), work)();
}


function baseSpec(context: ActionContext, vmClass: VmClass, name: string, plan: ProvisionPlan): BaseSpec {
  const { inputs, config, request } = context;
  const path = (input: string, kind: 'file' | 'directory') =>
    inputs[input] === undefined ? undefined : resolveAllowedPath(input, String(inputs[input]), kind, config.paths.images);
  const given = (input: string) => inputs[input] !== undefined;

  const boots = vmClass.boots;
  if (!boots.includes('rootfs') && given('rootfs')) throw unsupported(vmClass, 'rootfs');
  if (!boots.includes('kernel') && (given('kernel') || given('initrd') || given('cmdline'))) throw unsupported(vmClass, 'kernel');
  if (!boots.includes('disk') && given('disk')) throw unsupported(vmClass, 'disk');
  if ((given('initrd') || given('cmdline')) && !given('kernel')) {
    throw new HvError('INPUT_INVALID', "Inputs 'initrd' and 'cmdline' need 'kernel'", { input: 'kernel' });
  }
  const bootsFromTemplate = plan.template !== undefined;
  if (!bootsFromTemplate && (vmClass.name === 'lxc' ? !given('rootfs') : !given('kernel') && !given('disk'))) {
    const needs = vmClass.name === 'lxc' ? "'rootfs' or a template" : "'kernel', 'disk' or a template";
    throw new HvError('INPUT_REQUIRED', `vm_class ${vmClass.name} needs ${needs} to boot from`, { input: vmClass.name === 'lxc' ? 'rootfs' : 'kernel' });
  }
  const memoryMb = Number(inputs.memory_mb);
  const vcpus = Number(inputs.vcpus);
  const maxMemoryMb = inputs.max_memory_mb === undefined ? memoryMb : Number(inputs.max_memory_mb);
  const maxVcpus = inputs.max_vcpus === undefined ? vcpus : Number(inputs.max_vcpus);
  if (maxMemoryMb < memoryMb) throw new HvError('INPUT_INVALID', "Input 'max_memory_mb' must be at least memory_mb", { input: 'max_memory_mb' });
  if (maxVcpus < vcpus) throw new HvError('INPUT_INVALID', "Input 'max_vcpus' must be at least vcpus", { input: 'max_vcpus' });

  const kernel = path('kernel', 'file');
  const initrd = path('initrd', 'file');
  const disk = path('disk', 'file');
  return {
    name,
    vmClass,
    memoryMb,
    maxMemoryMb,
    vcpus,
    maxVcpus,
    ...(kernel && { kernel: { path: kernel, ...(initrd && { initrd }), ...(given('cmdline') && { cmdline: String(inputs.cmdline) }) } }),
    disks: disk ? [{ type: 'file', path: disk, format: inputs.disk_format === 'raw' ? 'raw' : 'qcow2' }] : [],
    ...(given('rootfs') && { rootfs: path('rootfs', 'directory') }),
    ...(plan.template?.type === 'pxe' && { networkBoot: true }),
    ...(vmClass.name !== 'lxc' && { consoleLog: join(config.paths.console_log_dir, `${name}.log`) }),
    metadata: {
      vm_class: vmClass.name,
      created_at: new Date().toISOString(),
      ...(request.callerid && { created_by: request.callerid }),
      ...(request.requestid && { request_id: request.requestid }),
      ...(plan.template && { template: plan.template.ref }),
    },
  };
}

function unsupported(vmClass: VmClass, input: string): HvError {
  return new HvError('UNSUPPORTED', `vm_class ${vmClass.name} does not boot from '${input}' (it boots from ${vmClass.boots.join(' or ')})`, { input });
}
