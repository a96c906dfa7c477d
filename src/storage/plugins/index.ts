import type { StoragePluginType } from '../../config/schema.js';
import { dirPlugin } from './dir.js';
import { imageFilePlugin } from './image-file.js';
import { lvmPlugin } from './lvm.js';
import type { StoragePlugin } from './plugin.js';

export const PLUGINS: Readonly<Record<StoragePluginType, StoragePlugin>> = {
  dir: dirPlugin,
  raw: imageFilePlugin('raw'),
  qcow2: imageFilePlugin('qcow2'),
  lvm: lvmPlugin,
};
