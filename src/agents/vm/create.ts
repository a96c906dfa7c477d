import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ActionContext, ActionHandler } from '../../core/action.js';
import { HvError } from '../../core/errors.js';
import { hostHasHardwareVirtualisation } from '../../libvirt/hardware-virtualisation.js';
import { VM_CLASSES, type VmClass, type VmClassName } from '../../vm/classes.js';
import { removeConsoleLog } from '../../vm/console-log.js';
import { defineDomain } from '../../vm/define.js';
import { buildDomainXml, type DomainSpec } from '../../vm/domain-xml.js';
import { currentState, locate, uriFor, virsh } from '../../vm/hypervisor.js';
import { resolveAllowedPath } from '../../vm/paths.js';
import { changeReply, underVmLock, vmName } from './common.js';

// Everything that can be refused is checked before libvirt is touched; once the domain
// is defined, a later failure (autostart, start) undefines it again.

export const create: ActionHandler = async (context) => {
  const vmClass = VM_CLASSES[context.inputs.vm_class as VmClassName];
  if (vmClass.name === 'kvm' && !(await hostHasHardwareVirtualisation())) {
    throw new HvError('UNSUPPORTED', 'vm_class kvm is not offered on this host: it has no usable hardware virtualisation (use qemu)');
  }
  const spec = specFrom(context, vmClass);
  const uri = uriFor(context.config, vmClass.name === 'lxc' ? 'lxc' : 'qemu');
  const network = context.inputs.network === undefined ? undefined : String(context.inputs.network);
  if (network) await virsh(uri, ['net-info', network], context.signal).catch(() => {
    throw new HvError('NOT_FOUND', `Input 'network': no libvirt network named '${network}'`, { input: 'network' });
  });

  return underVmLock(context, async () => {
    const existing = await locate(context.config, spec.name, context.signal);
    if (existing) throw new HvError('CONFLICT', `A VM named '${spec.name}' already exists (${existing.vmClass}, ${existing.state})`);
    if (spec.consoleLog) mkdirSync(context.config.paths.console_log_dir, { recursive: true, mode: 0o750 });
    await defineDomain(uri, buildDomainXml(spec), context.signal);
    try {
      if (context.inputs.autostart === true) await virsh(uri, ['autostart', spec.name], context.signal);
      if (context.inputs.start === true) await virsh(uri, ['start', spec.name], context.signal);
    } catch (error) {
      await virsh(uri, ['destroy', spec.name]).catch(() => undefined);
      await virsh(uri, ['undefine', spec.name]).catch(() => undefined);
      removeConsoleLog(context.config, spec.consoleLog ?? null);
      throw error;
    }
    const state = await currentState({ uri, name: spec.name }, context.signal);
    return changeReply({ name: spec.name, vmClass: vmClass.name }, true, state);
  });
};

function specFrom(context: ActionContext, vmClass: VmClass): DomainSpec {
  const { inputs, config, request } = context;
  const name = vmName(context);
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
  if (vmClass.name === 'lxc' ? !given('rootfs') : !given('kernel') && !given('disk')) {
    const needs = vmClass.name === 'lxc' ? "'rootfs'" : "'kernel' or 'disk'";
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
    nics: given('network') ? [{ source: { network: String(inputs.network) } }] : [],
    ...(vmClass.name !== 'lxc' && { consoleLog: join(config.paths.console_log_dir, `${name}.log`) }),
    metadata: {
      vm_class: vmClass.name,
      created_at: new Date().toISOString(),
      ...(request.callerid && { created_by: request.callerid }),
      ...(request.requestid && { request_id: request.requestid }),
    },
  };
}

function unsupported(vmClass: VmClass, input: string): HvError {
  return new HvError('UNSUPPORTED', `vm_class ${vmClass.name} does not boot from '${input}' (it boots from ${vmClass.boots.join(' or ')})`, { input });
}

