import type { HvConfig } from '../../config/schema.js';
import { HvError } from '../../core/errors.js';
import type { OperationContext } from '../../core/operation.js';
import { currentState, type Located } from '../../libvirt/domains/locate.js';
import { withLockedVm } from '../../libvirt/domains/locked.js';
import type { VmChange } from '../change.js';
import { parseDestination } from './destination.js';
import { checkDestination, runMigration, transferredBytes, type MigrationPlan } from './run.js';

// vm migrate: the VM leaves this host for another libvirtd, under its lock. A migration
// that cannot finish before the request's deadline is aborted in time for libvirt to
// resume the guest here, and the reply says so (DEADLINE_EXCEEDED, state on this host).

/** Time kept before the deadline to abort the libvirt job, see the guest resumed and reply. */
export const ABORT_MARGIN_MS = 4000;

export interface MigrationRequest {
  /** A libvirt URI of another host (destination.ts says which are accepted). */
  readonly destination: string;
  readonly live: boolean;
  readonly persistent: boolean;
  readonly copyStorage: boolean;
  readonly bandwidthMib?: number;
}

export interface Migrated extends VmChange {
  readonly destination: string;
  readonly destinationHost: string;
  readonly durationMs: number;
  readonly bytesTransferred: number | null;
}

export function migrateVm(config: HvConfig, name: string, request: MigrationRequest, context: OperationContext): Promise<Migrated> {
  const destination = parseDestination(request.destination);
  const { live, persistent, copyStorage, bandwidthMib: bandwidth } = request;
  return withLockedVm(config, name, context, async (vm) => {
    const plan: MigrationPlan = {
      name: vm.name,
      sourceUri: vm.uri,
      destination,
      mode: modeFor(vm, live, persistent, copyStorage),
      copyStorage,
      persistent,
      ...(typeof bandwidth === 'number' && { bandwidthMib: bandwidth }),
    };
    context.progress({ phase: 'checking', message: `asking ${destination.uri}` });
    const facts = await checkDestination(plan, context.signal);

    context.progress({ phase: 'migrating', percent: 0, message: `to ${facts.hostname} (${plan.mode})` });
    const run = await runMigration(plan, context.deadline - ABORT_MARGIN_MS, context.signal, (percent) =>
      context.progress({ phase: 'migrating', percent, message: `to ${facts.hostname} (${plan.mode})` }),
    );
    if (run.aborted) {
      const stateHere = await currentState(vm).catch(() => 'unknown');
      throw new HvError(
        'DEADLINE_EXCEEDED',
        `Migration of '${vm.name}' to ${destination.uri} did not finish before the deadline; it was aborted after ${run.durationMs} ms and '${vm.name}' is ${stateHere} on this host`,
        { aborted: true, state: stateHere, duration_ms: run.durationMs },
      );
    }

    context.progress({ phase: 'verifying', percent: 100 });
    const there = { uri: destination.uri, name: vm.name };
    const [state, bytes] = await Promise.all([currentState(there, context.signal), plan.mode === 'offline' ? null : transferredBytes(plan)]);
    return { vm, changed: true, state, destination: destination.uri, destinationHost: facts.hostname, durationMs: run.durationMs, bytesTransferred: bytes };
  });
}

function modeFor(vm: Located, live: boolean, persistent: boolean, copyStorage: boolean): MigrationPlan['mode'] {
  if (vm.driver === 'lxc') {
    throw new HvError('UNSUPPORTED', `'${vm.name}' is a container: libvirt's LXC driver cannot migrate`, { vm_class: vm.vmClass });
  }
  if (vm.state === 'running' || vm.state === 'paused') {
    if (live && vm.state !== 'running') {
      throw new HvError('CONFLICT', `Cannot migrate '${vm.name}' live: it is ${vm.state} (live=false moves it paused)`, { state: vm.state });
    }
    return live ? 'live' : 'paused';
  }
  if (vm.state !== 'shutoff') throw new HvError('CONFLICT', `Cannot migrate '${vm.name}': it is ${vm.state}`, { state: vm.state });
  if (live) throw new HvError('CONFLICT', `Cannot migrate '${vm.name}' live: it is shut off (live=false moves its definition)`, { state: vm.state });
  if (copyStorage) throw new HvError('UNSUPPORTED', `A shut-off VM moves without its disks: copy_storage needs it running`, { state: vm.state });
  if (!persistent) throw new HvError('INVALID_ARGUMENT', `A shut-off VM can only be moved as a persistent definition (persistent=true)`);
  return 'offline';
}
