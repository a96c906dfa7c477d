// First-boot configuration through cloud-init's NoCloud datasource (docs/CLOUD-INIT.md).
export { hostnameOfVm, isHostname, newInstanceId, noCloudFiles, networkConfig, NOCLOUD_FILES, type GuestIpv4, type GuestNic, type NoCloudData, type NoCloudFiles } from './nocloud.js';
export { removeSeedDirectory, writeSeedDirectory, NOCLOUD_SEED_DIRECTORY } from './seed-directory.js';
export { withSeedIso, SEED_VOLUME_ID } from './seed-iso.js';
export { parseAuthorizedKeys } from './ssh-keys.js';
export { addHostKeys, checkUserData, composeUserData, type CheckedUserData } from './user-data.js';
export { fingerprintOf, generateHostKeys, keyWithoutComment, knownHostsLines, parseHostKeyTypes, DEFAULT_HOST_KEY_TYPES, HOST_KEY_TYPES, type HostKey, type HostKeyType, type PublicHostKey } from './host-keys.js';
