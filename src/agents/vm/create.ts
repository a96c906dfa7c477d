import type { ActionHandler } from '../contract.js';
import type { Inputs } from '../../ddl/validate.js';
import type { VmClassName } from '../../model/vm-classes.js';
import { parseIpv4Input, parseNameservers } from '../../network/addressing.js';
import { provisionVm, type CloudInitRequest, type ProvisionRequest } from '../../provisioning/index.js';
import { changeReply, vmName } from './common.js';

export const create: ActionHandler = async (context) => {
  const made = await provisionVm(context.config, provisionRequest(context.inputs, vmName(context), context.request), context);
  return changeReply({ name: vmName(context), vmClass: context.inputs.vm_class as string }, true, made.state, {
    template: made.template,
    volumes: made.volumes.map(({ pool, name, path, plugin, format }) => ({ pool, name, path, plugin, format })),
    nics: made.nics.map((nic) => ({ mac: nic.mac ?? null, ...nic.source })),
    ssh_host_keys: made.hostKeys.map(({ type, publicKey, fingerprint }) => ({ type, public_key: publicKey, fingerprint })),
    known_hosts: made.knownHosts,
  });
};

/** The DDL's inputs (ddl/vm.yaml, validated) as a typed provisioning request. */
function provisionRequest(inputs: Inputs, name: string, caller: { callerid?: string; requestid?: string }): ProvisionRequest {
  const text = (input: string) => (inputs[input] === undefined ? undefined : String(inputs[input]));
  const number = (input: string) => (inputs[input] === undefined ? undefined : Number(inputs[input]));
  const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  return {
    name,
    vmClass: inputs.vm_class as VmClassName,
    memoryMb: Number(inputs.memory_mb),
    vcpus: Number(inputs.vcpus),
    ...optional('maxMemoryMb', number('max_memory_mb')),
    ...optional('maxVcpus', number('max_vcpus')),
    ...optional('kernel', text('kernel')),
    ...optional('initrd', text('initrd')),
    ...optional('cmdline', text('cmdline')),
    ...optional('disk', text('disk')),
    diskFormat: inputs.disk_format === 'raw' ? 'raw' : 'qcow2',
    ...optional('rootfs', text('rootfs')),
    ...optional('template', text('template')),
    ...optional('pool', text('pool')),
    ...optional('diskSizeMb', number('disk_size_mb')),
    dataDisks: (text('data_disks')?.split(',') ?? []).map((entry) => {
      const [pool = '', size = ''] = entry.split(':');
      return { pool, sizeMb: Number(size) };
    }),
    networks: text('network')?.split(',') ?? [],
    ...optional('nicAddressing', text('ipv4') === undefined ? undefined : parseIpv4Input(text('ipv4')!)),
    ...optional('nameservers', text('dns') === undefined ? undefined : parseNameservers(text('dns')!)),
    ...optional('cloudInit', cloudInitRequest(text)),
    firewall: { ...optional('filter', text('filter')), ...optional('allow', text('allow')), ...optional('ruleSets', text('rule_sets')) },
    start: inputs.start === true,
    autostart: inputs.autostart === true,
    ...optional('createdBy', caller.callerid),
    ...optional('requestId', caller.requestid),
  };
}

/** The cloud-init inputs, when any is given. */
function cloudInitRequest(text: (input: string) => string | undefined): CloudInitRequest | undefined {
  const request = {
    ...(text('hostname') !== undefined && { hostname: text('hostname')! }),
    ...(text('ssh_authorized_keys') !== undefined && { sshAuthorizedKeys: text('ssh_authorized_keys')! }),
    ...(text('user_data') !== undefined && { userData: text('user_data')! }),
    ...(text('ssh_host_keys') !== undefined && { sshHostKeys: text('ssh_host_keys')! }),
  };
  return Object.keys(request).length > 0 ? request : undefined;
}
