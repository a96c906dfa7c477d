import type { ActionHandler } from '../contract.js';
import { listVolumes } from '../../storage/index.js';
import { volumeReply } from './common.js';

export const list: ActionHandler = async ({ config, inputs, signal }) => {
  const volumes = (await listVolumes(config, inputs.pool === undefined ? undefined : String(inputs.pool), signal)).map(volumeReply);
  return { volumes, count: volumes.length };
};
