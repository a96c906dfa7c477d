import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { uriFor } from '../libvirt/domains/connections.js';
import { isEmbedded } from '../libvirt/domains/connections.js';
import { findDefined } from '../libvirt/domains/locate.js';
import { withVmLock } from '../libvirt/domains/locked.js';
import { hostHasHardwareVirtualisation } from '../libvirt/hardware-virtualisation.js';
import { VM_CLASSES } from '../model/vm-classes.js';
import { addressingMismatch, type NicAddressing } from '../network/addressing.js';
import { checkNicFirewall, filterRefOf, learningParameters, needsOwnFilter, parseNicFirewall, type NicFirewall } from '../network/firewall/nic-firewall.js';
import { mustReadNetwork, type NetworkFound } from '../network/libvirt-networks.js';
import { macsInUse, stableMac } from '../network/mac.js';
import { checkReservation } from '../network/reservations.js';
import { lockKey, withLocks } from '../files/locks.js';
import { validateVolumeName } from '../storage/index.js';
import { precheckAdmission, withAdmission, type AdmissionRequest } from '../vm/admission.js';
import { shareTemplateFiles, templateFilesExist } from '../templates/index.js';
import { baseSpec } from './domain-spec.js';
import { execute, type Provisioned } from './execute.js';
import type { PlannedNic } from './nic-steps.js';
import { planProvisioning, type ProvisionPlan } from './plan.js';
import type { ProvisionRequest } from './request.js';

export type { CloudInitRequest, ProvisionRequest } from './request.js';

// One request provisions a whole VM. Everything that can be refused is checked before
// anything is made; from then on each step's undo is registered, so a failure (or the
// deadline, or a cancel) leaves nothing behind (execute.ts, rollback.ts).

export interface ProvisionResult extends Provisioned {
  /** `type:name` of the template it was made from. */
  readonly template: string | null;
}

export async function provisionVm(config: HvConfig, request: ProvisionRequest, ctx: OperationContext): Promise<ProvisionResult> {
  const vmClass = VM_CLASSES[request.vmClass];
  if (vmClass.name === 'kvm' && !(await hostHasHardwareVirtualisation())) {
    throw new HvError('UNSUPPORTED', 'vm_class kvm is not offered on this host: it has no usable hardware virtualisation (use qemu)');
  }
  const { name } = request;
  const uri = uriFor(config, vmClass.name === 'lxc' ? 'lxc' : 'qemu');

  // Provisioning is a hot path where each answer costs a process, so what can overlap
  // does: the plan (catalogue, pools) is read while the VM's lock is being taken; then,
  // under it, libvirt is asked whether the name is free, whether the networks exist and
  // which MACs are taken while the volumes' locks are taken and the volumes made. Nothing
  // is defined before those answers are in; a VM that exists after all undoes the volumes.
  // A template's files must outlive this request's use of them: the catalogue's file lock,
  // shared, is taken while the plan reads the catalogue, and held until the VM is defined
  // (template prune and delete remove a file only under it exclusively).
  const templateFiles = request.template === undefined ? undefined : shareTemplateFiles(config, Math.floor((ctx.deadline - Date.now()) / 1000) - 1);
  const firewall = parseNicFirewall(config, vmClass, request.firewall ?? {});
  const planning = planProvisioning(config, vmClass, request);
  planning.catch(() => undefined); // awaited under the lock; never an unhandled rejection meanwhile
  templateFiles?.catch(() => undefined);
  return withVmLock(config, name, ctx, async () => {
    const plan = await planning;
    await templateFiles;
    // The plan may have read the catalogue before the lock was held: a file removed in between is gone.
    if (plan.template && !templateFilesExist(plan.template)) {
      throw new HvError('CONFLICT', `Template ${plan.template.ref} was replaced or deleted while this request began: try again`, { input: 'template' });
    }
    const base = { ...baseSpec(config, vmClass, request, plan), guestAgent: !isEmbedded(uri) };
    const lookups = Promise.all([
      findDefined(config, name, ctx.signal),
      plan.networks.length > 0 ? macsInUse(config, ctx.signal) : new Map<string, string>(),
      Promise.all(plan.networks.map((network) => mustReadNetwork(uri, network, ctx.signal))),
      plan.networks.length > 0 ? checkNicFirewall(config.libvirt.uri, firewall, ctx.signal) : undefined,
    ]);
    const checkedNics = lookups.then(([existing, taken, networks]): PlannedNic[] => {
      if (existing) throw alreadyExists(name, existing);
      networks.forEach((network, slot) => {
        const mismatch = addressingMismatch(plan.addressing[slot]!, network);
        if (mismatch) throw new HvError('INPUT_INVALID', `Input 'ipv4': ${mismatch}`, { input: 'ipv4' });
      });
      return networks.map((network, slot) => {
        const mac = stableMac(name, slot, taken);
        taken.set(mac, name);
        return plannedNic(network, mac, plan.reserved.get(network.name), firewall, plan.addressing[slot]);
      });
    });
    checkedNics.catch(() => undefined); // awaited by execute, or explained below
    const existingVm = async () => (await lookups.catch(() => [undefined]))[0];
    // Admission decides for good around the define; when volumes come first, it also refuses
    // early, before any is made (a copy can take minutes).
    const admission: AdmissionRequest = { kind: 'create', name, memoryMb: request.memoryMb, vcpus: request.vcpus, start: request.start };
    const admit = <T>(define: () => Promise<T>) => withAdmission(config, admission, ctx, define);
    const makesVolumes = plan.root !== undefined || plan.data.length > 0;
    const made = await (makesVolumes ? precheckAdmission(config, admission, ctx) : Promise.resolve())
      .then(() => withPlannedVolumeLocks(config, ctx, plan, () => execute({ config, ctx, uri, base, plan, checkedNics, start: request.start, autostart: request.autostart, admit })))
      .catch(async (error: unknown) => {
        // A clash with an existing VM of that name explains any other failure (its volumes exist too).
        const existing = await existingVm();
        throw existing ? alreadyExists(name, existing) : error;
      });
    return { ...made, template: plan.template?.ref ?? null };
  }).finally(() => void templateFiles?.then((held) => held.release(), () => undefined));
}

/**
 * A NIC on a network, with the reservation and the filter the request asks for it. A static
 * address is the filter's IP from the start: nothing would teach it by DHCP.
 */
function plannedNic(network: NetworkFound, mac: string, reservedIp: string | undefined, firewall: NicFirewall, addressing: NicAddressing | undefined): PlannedNic {
  if (reservedIp !== undefined) checkReservation(network, { mac, ip: reservedIp }, [], 'ipv4');
  const parameters = addressing?.kind === 'static' ? { IP: addressing.address } : learningParameters(network, mac, reservedIp !== undefined);
  return {
    source: { network: network.name },
    mac,
    filter: filterRefOf(mac, firewall, parameters),
    ...(reservedIp !== undefined && { reservation: { network: network.name, ip: reservedIp } }),
    ...(needsOwnFilter(firewall) && { ownFilter: firewall }),
  };
}

function alreadyExists(name: string, existing: { vmClass: string; state: string }): HvError {
  return new HvError('CONFLICT', `A VM named '${name}' already exists (${existing.vmClass}, ${existing.state})`);
}

/**
 * Holds the locks of every volume the plan makes until the domain that uses them is
 * defined (or they are removed again): nobody can delete or resize one in between.
 */
function withPlannedVolumeLocks<T>(config: HvConfig, ctx: OperationContext, plan: ProvisionPlan, work: () => Promise<T>): Promise<T> {
  const seed = plan.cloudInit?.seed.kind === 'volume' ? [plan.cloudInit.seed.volume] : [];
  const keys = [...(plan.root ? [plan.root] : []), ...plan.data, ...seed].map((volume) => lockKey.volume(volume.pool.name, validateVolumeName(volume.name)));
  return withLocks(keys, { directory: config.paths.lock_dir, deadline: ctx.deadline }, work);
}
