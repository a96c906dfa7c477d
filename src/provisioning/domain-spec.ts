import { join } from 'node:path';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { resolveAllowedPath } from '../files/containment.js';
import type { VmClass } from '../model/vm-classes.js';
import type { BaseSpec } from './execute.js';
import type { ProvisionPlan } from './plan.js';
import type { ProvisionRequest } from './request.js';

// The domain as the request describes it, checked against what the VM class boots from;
// provisioning adds the disks, root directory and NICs it makes. Paths named in the
// request are resolved (symlinks followed) and must lie in paths.images.

export function baseSpec(config: HvConfig, vmClass: VmClass, request: ProvisionRequest, plan: ProvisionPlan): BaseSpec {
  const path = (input: 'kernel' | 'initrd' | 'disk' | 'rootfs', kind: 'file' | 'directory') =>
    request[input] === undefined ? undefined : resolveAllowedPath(input, request[input]!, kind, config.paths.images);
  const given = (input: 'kernel' | 'initrd' | 'cmdline' | 'disk' | 'rootfs') => request[input] !== undefined;

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
  const { name, memoryMb, vcpus } = request;
  const maxMemoryMb = request.maxMemoryMb ?? memoryMb;
  const maxVcpus = request.maxVcpus ?? vcpus;
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
    ...(kernel && { kernel: { path: kernel, ...(initrd && { initrd }), ...(request.cmdline !== undefined && { cmdline: request.cmdline }) } }),
    disks: disk ? [{ type: 'file', path: disk, format: request.diskFormat === 'raw' ? 'raw' : 'qcow2' }] : [],
    ...(given('rootfs') && { rootfs: path('rootfs', 'directory') }),
    ...(plan.template?.type === 'pxe' && { networkBoot: true }),
    // The installer is attached in place, read-only, as the first CD-ROM, and boots first.
    ...(plan.template?.type === 'iso' && { cdroms: [{ path: plan.template.path }], cdromBoot: true }),
    ...(vmClass.name !== 'lxc' && { consoleLog: join(config.paths.console_log_dir, `${name}.log`) }),
    metadata: {
      vm_class: vmClass.name,
      created_at: new Date().toISOString(),
      ...(request.createdBy && { created_by: request.createdBy }),
      ...(request.requestId && { request_id: request.requestId }),
      ...(plan.template && { template: plan.template.ref }),
    },
  };
}

function unsupported(vmClass: VmClass, input: string): HvError {
  return new HvError('UNSUPPORTED', `vm_class ${vmClass.name} does not boot from '${input}' (it boots from ${vmClass.boots.join(' or ')})`, { input });
}
