import type { ActionHandler } from '../contract.js';
import { describeVolume } from '../../storage/index.js';
import { poolName, volumeName, volumeReply } from './common.js';

export const info: ActionHandler = async (context) => volumeReply(await describeVolume(context.config, poolName(context), volumeName(context), context.signal));
