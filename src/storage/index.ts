// Storage: named pools of volumes (qcow2 or raw image files, LVM logical volumes,
// container directories). See docs/STORAGE.md.
export type { StoragePluginType } from '../config/schema.js';
export type { CreateVolumeRequest, ImageFormat, Pool, StorageOpContext, Volume, VolumeAttach, VolumeInfo } from './types.js';
export { openPool } from './pool.js';
export { validateVolumeName } from './names.js';
export { backingChain, canonicalPath, volumeUsage, volumeUsers, type VolumeUser } from './users.js';
export { withVolumeLock } from './lock.js';
export { removeRecordedVolume, undoVolumeCreate, volumeRecord } from './undo.js';
export { libvirtPoolName, removeLibvirtPool, syncLibvirtPool, type SyncResult } from './libvirt-pool.js';
export { createVolume, deleteVolume, describeVolume, listVolumes, resizeVolume, type NewVolume, type VolumeView } from './volumes.js';
export { checkImageChain } from './image-chain.js';
export { lockDirectoryOf, peerUsage, withSharedVolumeLocks, type PeerUser } from './shared.js';
export { assertPoolName, createPool, deletePool, listPools, type PoolCreateRequest, type PoolView } from './pool-admin.js';
