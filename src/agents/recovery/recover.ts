import type { Recovery } from '../contract.js';
import { recoverAbandonedWork } from '../../recovery/abandoned.js';

export const recover: Recovery = (config, key) => recoverAbandonedWork(config, key);
