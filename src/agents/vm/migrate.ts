import type { ActionHandler } from '../contract.js';
import { migrateVm } from '../../vm/migration/migrate.js';
import { changeReply, vmName } from './common.js';

export const migrate: ActionHandler = async (context) => {
  const { inputs } = context;
  const request = {
    destination: String(inputs.destination),
    live: inputs.live !== false,
    persistent: inputs.persistent !== false,
    copyStorage: inputs.copy_storage === true,
    ...(typeof inputs.bandwidth_mib === 'number' && { bandwidthMib: inputs.bandwidth_mib }),
  };
  const migrated = await migrateVm(context.config, vmName(context), request, context);
  return changeReply(migrated.vm, true, migrated.state, {
    destination: migrated.destination,
    destination_host: migrated.destinationHost,
    duration_ms: migrated.durationMs,
    bytes_transferred: migrated.bytesTransferred,
  });
};
