import type { HvConfig } from '../../config/schema.js';

// A host has two libvirt connections: the QEMU one (classes qemu and kvm) and the LXC one
// (containers). A VM lives on exactly one of them.

export type Driver = 'qemu' | 'lxc';

export function uriFor(config: HvConfig, driver: Driver): string {
  return driver === 'lxc' ? config.libvirt.lxc_uri : config.libvirt.uri;
}

/** qemu:///embed: QEMU runs inside our own process's libvirt, with nothing watching it between calls. */
export function isEmbedded(uri: string): boolean {
  return uri.startsWith('qemu:///embed?');
}
