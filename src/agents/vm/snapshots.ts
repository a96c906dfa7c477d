import type { ActionContext, ActionHandler } from '../contract.js';
import { createSnapshot, deleteSnapshot, listSnapshots, revertSnapshot } from '../../vm/snapshots.js';
import { changeReply, vmName } from './common.js';

function snapshotName(context: ActionContext): string {
  return String(context.inputs.snapshot);
}

export const snapshotCreate: ActionHandler = async (context) => {
  const snapshot = snapshotName(context);
  const description = context.inputs.description === undefined ? undefined : String(context.inputs.description);
  const { vm, changed, state } = await createSnapshot(context.config, vmName(context), snapshot, description, context);
  return changeReply(vm, changed, state, { snapshot });
};

export const snapshotRevert: ActionHandler = async (context) => {
  const snapshot = snapshotName(context);
  const { vm, changed, state } = await revertSnapshot(context.config, vmName(context), snapshot, context);
  return changeReply(vm, changed, state, { snapshot });
};

export const snapshotDelete: ActionHandler = async (context) => {
  const snapshot = snapshotName(context);
  const { vm, changed, state } = await deleteSnapshot(context.config, vmName(context), snapshot, context);
  return changeReply(vm, changed, state, { snapshot });
};

export const snapshotList: ActionHandler = async (context) => {
  const { vm, snapshots } = await listSnapshots(context.config, vmName(context), context.signal);
  return { name: vm.name, snapshots };
};
