import { XMLParser } from 'fast-xml-parser';
import type { ActionContext, ActionHandler } from '../contract.js';
import { HvError } from '../../core/errors.js';
import { runVirshBatch } from '../../libvirt/index.js';
import { currentState, mustLocate, virsh, type Located } from '../../libvirt/domains/locate.js';
import { changeReply, lockedVm, vmName } from './common.js';

// Snapshots are libvirt's (internal qcow2 snapshots for QEMU guests: disk and, when
// running, memory). The LXC driver has none.

const parser = new XMLParser({ parseTagValue: false });

function snapshotName(context: ActionContext): string {
  return String(context.inputs.snapshot);
}

function qemuOnly(vm: Located): void {
  if (vm.driver !== 'qemu') throw new HvError('UNSUPPORTED', `Snapshots are not offered for vm_class ${vm.vmClass}`);
}

async function snapshotNames(vm: Located, signal: AbortSignal): Promise<string[]> {
  const out = await virsh(vm.uri, ['snapshot-list', vm.name, '--name'], signal);
  return out.split('\n').map((line) => line.trim()).filter(Boolean);
}

export const snapshotCreate: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    qemuOnly(vm);
    const snapshot = snapshotName(context);
    if ((await snapshotNames(vm, context.signal)).includes(snapshot)) {
      throw new HvError('CONFLICT', `'${vm.name}' already has a snapshot named '${snapshot}'`);
    }
    const description = context.inputs.description === undefined ? [] : ['--description', String(context.inputs.description)];
    await virsh(vm.uri, ['snapshot-create-as', vm.name, snapshot, ...description], context.signal);
    return changeReply(vm, true, await currentState(vm, context.signal), { snapshot });
  });

export const snapshotRevert: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    qemuOnly(vm);
    const snapshot = snapshotName(context);
    if (!(await snapshotNames(vm, context.signal)).includes(snapshot)) {
      throw new HvError('NOT_FOUND', `'${vm.name}' has no snapshot named '${snapshot}'`);
    }
    await virsh(vm.uri, ['snapshot-revert', vm.name, snapshot], context.signal);
    return changeReply(vm, true, await currentState(vm, context.signal), { snapshot });
  });

export const snapshotDelete: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    qemuOnly(vm);
    const snapshot = snapshotName(context);
    if (!(await snapshotNames(vm, context.signal)).includes(snapshot)) return changeReply(vm, false, vm.state, { snapshot });
    await virsh(vm.uri, ['snapshot-delete', vm.name, snapshot], context.signal);
    return changeReply(vm, true, await currentState(vm, context.signal), { snapshot });
  });

export const snapshotList: ActionHandler = async (context) => {
  const vm = await mustLocate(context.config, vmName(context), context.signal);
  if (vm.driver !== 'qemu') return { name: vm.name, snapshots: [] };
  const names = await snapshotNames(vm, context.signal);
  const results = await runVirshBatch([['snapshot-current', vm.name, '--name'], ...names.map((snapshot) => ['snapshot-dumpxml', vm.name, snapshot])], {
    uri: vm.uri,
    signal: context.signal,
  });
  const current = results[0]?.error ? '' : results[0]!.stdout.trim();
  const snapshots = results.slice(1).flatMap((result, i) => {
    if (result.error) return [];
    const snap = (parser.parse(result.stdout) as { domainsnapshot?: Record<string, string> }).domainsnapshot ?? {};
    return [
      {
        name: names[i],
        created_at: snap.creationTime ? new Date(Number(snap.creationTime) * 1000).toISOString() : null,
        state: snap.state ?? null,
        current: names[i] === current,
        description: snap.description ?? null,
      },
    ];
  });
  return { name: vm.name, snapshots };
};
