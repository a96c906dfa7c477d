import { existsSync } from 'node:fs';
import type { TemplateType } from './ref.js';

export type { TemplateType };

interface TemplateBase {
  name: string;
  /** `type:name`, what requests say. */
  ref: string;
  description: string;
  os?: string;
  notes?: string;
  /** SHA-256 of the source it was imported from, when `template import` verified one. */
  sha256?: string;
}

/** A disk image the storage layer clones for a new VM. */
export interface ImageTemplate extends TemplateBase {
  type: 'image';
  /** Real path, inside the catalogue. */
  path: string;
  format: 'raw' | 'qcow2';
  /** What the guest sees (qemu-img's virtual size, rounded up to whole MiB). */
  virtualSizeMb: number;
  /** Bytes the file takes on disk. */
  fileBytes: number;
}

/** A root file system archive, unpacked into a container's root directory. */
export interface ArchiveTemplate extends TemplateBase {
  type: 'lxc' | 'tar';
  /** Real path of the archive (tar, tar.gz, tar.xz), inside the catalogue. */
  archive: string;
  /** Real path of an archive unpacked over it. */
  overlay?: string;
  /** Bytes of archive and overlay together. */
  fileBytes: number;
}

/** A network boot: the VM boots from a libvirt network whose dnsmasq serves this TFTP tree. */
export interface PxeTemplate extends TemplateBase {
  type: 'pxe';
  /** The libvirt network serving it. */
  network: string;
  /** The file the DHCP answer names, relative to tftpRoot (e.g. pxelinux.0). */
  bootFile: string;
  /** Real path of the TFTP tree, inside the catalogue. */
  tftpRoot: string;
  /** Host address/prefix for the network when hvagent defines it (e.g. 10.233.0.1/24). */
  address?: string;
}

/** An installer medium: attached read-only, in place, as the first CD-ROM of a VM that installs from it. */
export interface IsoTemplate extends TemplateBase {
  type: 'iso';
  /** Real path of the ISO 9660 image, inside the catalogue. */
  path: string;
  fileBytes: number;
}

export type Template = ImageTemplate | ArchiveTemplate | PxeTemplate | IsoTemplate;

/** Whether every file a template resolved to is still there (a PXE tree is never removed). */
export function templateFilesExist(template: Template): boolean {
  switch (template.type) {
    case 'image':
    case 'iso':
      return existsSync(template.path);
    case 'lxc':
    case 'tar':
      return existsSync(template.archive) && (template.overlay === undefined || existsSync(template.overlay));
    case 'pxe':
      return true;
  }
}
