import { XMLParser } from 'fast-xml-parser';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { currentState, mustLocate, type Located } from '../libvirt/domains/locate.js';
import { withLockedVm } from '../libvirt/domains/locked.js';
import { runVirshBatch, virsh } from '../libvirt/virsh.js';
import type { VmChange } from './change.js';
import { lazy } from '../core/lazy.js';

// Snapshots are libvirt's (internal qcow2 snapshots for QEMU guests: disk and, when
// running, memory). The LXC driver has none.

const parser = lazy(() => new XMLParser({ parseTagValue: false }));

export interface SnapshotEntry {
  name: string;
  created_at: string | null;
  state: string | null;
  current: boolean;
  description: string | null;
}

function qemuOnly(vm: Located): void {
  if (vm.driver !== 'qemu') throw new HvError('UNSUPPORTED', `Snapshots are not offered for vm_class ${vm.vmClass}`);
}

async function snapshotNames(vm: Located, signal: AbortSignal): Promise<string[]> {
  const out = await virsh(vm.uri, ['snapshot-list', vm.name, '--name'], signal);
  return out.split('\n').map((line) => line.trim()).filter(Boolean);
}

export function createSnapshot(config: HvConfig, name: string, snapshot: string, description: string | undefined, ctx: OperationContext): Promise<VmChange> {
  return withLockedVm(config, name, ctx, async (vm) => {
    qemuOnly(vm);
    if ((await snapshotNames(vm, ctx.signal)).includes(snapshot)) {
      throw new HvError('CONFLICT', `'${vm.name}' already has a snapshot named '${snapshot}'`);
    }
    await virsh(vm.uri, ['snapshot-create-as', vm.name, snapshot, ...(description === undefined ? [] : ['--description', description])], ctx.signal);
    return { vm, changed: true, state: await currentState(vm, ctx.signal) };
  });
}

export function revertSnapshot(config: HvConfig, name: string, snapshot: string, ctx: OperationContext): Promise<VmChange> {
  return withLockedVm(config, name, ctx, async (vm) => {
    qemuOnly(vm);
    if (!(await snapshotNames(vm, ctx.signal)).includes(snapshot)) {
      throw new HvError('NOT_FOUND', `'${vm.name}' has no snapshot named '${snapshot}'`);
    }
    await virsh(vm.uri, ['snapshot-revert', vm.name, snapshot], ctx.signal);
    return { vm, changed: true, state: await currentState(vm, ctx.signal) };
  });
}

/** Deleting a snapshot that does not exist is no change. */
export function deleteSnapshot(config: HvConfig, name: string, snapshot: string, ctx: OperationContext): Promise<VmChange> {
  return withLockedVm(config, name, ctx, async (vm) => {
    qemuOnly(vm);
    if (!(await snapshotNames(vm, ctx.signal)).includes(snapshot)) return { vm, changed: false, state: vm.state };
    await virsh(vm.uri, ['snapshot-delete', vm.name, snapshot], ctx.signal);
    return { vm, changed: true, state: await currentState(vm, ctx.signal) };
  });
}

/** A container has no snapshots (an empty list, not an error). */
export async function listSnapshots(config: HvConfig, name: string, signal: AbortSignal): Promise<{ vm: Located; snapshots: SnapshotEntry[] }> {
  const vm = await mustLocate(config, name, signal);
  if (vm.driver !== 'qemu') return { vm, snapshots: [] };
  const names = await snapshotNames(vm, signal);
  const results = await runVirshBatch([['snapshot-current', vm.name, '--name'], ...names.map((snapshot) => ['snapshot-dumpxml', vm.name, snapshot])], { uri: vm.uri, signal });
  const current = results[0]?.error ? '' : results[0]!.stdout.trim();
  const snapshots = results.slice(1).flatMap((result, i) => {
    if (result.error) return [];
    const snap = (parser().parse(result.stdout) as { domainsnapshot?: Record<string, string> }).domainsnapshot ?? {};
    return [
      {
        name: names[i]!,
        created_at: snap.creationTime ? new Date(Number(snap.creationTime) * 1000).toISOString() : null,
        state: snap.state ?? null,
        current: names[i] === current,
        description: snap.description ?? null,
      },
    ];
  });
  return { vm, snapshots };
}
