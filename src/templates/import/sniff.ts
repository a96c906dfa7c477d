// What a file is, from its first bytes, never from its name: an import checks that the
// content is what the template's type (and `format`) says before it keeps any of it.
// HEAD_BYTES covers every signature read here (ISO 9660's lies at 32 KiB).

export const HEAD_BYTES = 64 * 1024;

export type Compression = 'gzip' | 'xz' | 'zstd' | 'bzip2';

export type ContentKind =
  | Compression
  | 'qcow2'
  | 'vmdk'
  | 'vdi'
  | 'vhdx'
  | 'vhd'
  | 'qed'
  | 'iso9660'
  | 'tar'
  | 'html'
  /** A raw disk: an MBR or boot-sector signature, or a GPT header. */
  | 'disk'
  | 'unknown';

const at = (head: Buffer, offset: number, bytes: string | number[]): boolean => {
  const expected = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
  return head.length >= offset + expected.length && head.subarray(offset, offset + expected.length).equals(expected);
};

/** The compression a stream starts with, if any. */
export function compressionOf(head: Buffer): Compression | undefined {
  if (at(head, 0, [0x1f, 0x8b])) return 'gzip';
  if (at(head, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (at(head, 0, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (at(head, 0, 'BZh') && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  return undefined;
}

export function contentKind(head: Buffer): ContentKind {
  const compressed = compressionOf(head);
  if (compressed) return compressed;
  if (at(head, 0, [0x51, 0x46, 0x49, 0xfb])) return 'qcow2';
  if (at(head, 0, 'KDMV') || at(head, 0, '# Disk DescriptorFile')) return 'vmdk';
  if (at(head, 0x40, [0x7f, 0x10, 0xda, 0xbe])) return 'vdi';
  if (at(head, 0, 'vhdxfile')) return 'vhdx';
  if (at(head, 0, 'conectix')) return 'vhd';
  if (at(head, 0, [0x51, 0x45, 0x44, 0x00])) return 'qed';
  // Before the disk signatures: a hybrid ISO carries an MBR as well.
  if (at(head, 0x8001, 'CD001')) return 'iso9660';
  if (at(head, 257, 'ustar')) return 'tar';
  if (/^\s*<(!doctype\s+html|html[\s>])/i.test(head.subarray(0, 512).toString('latin1'))) return 'html';
  if (at(head, 512, 'EFI PART') || at(head, 510, [0x55, 0xaa])) return 'disk';
  return 'unknown';
}

const DESCRIPTIONS: Record<ContentKind, string> = {
  gzip: 'gzip-compressed data',
  xz: 'xz-compressed data',
  zstd: 'zstd-compressed data',
  bzip2: 'bzip2-compressed data',
  qcow2: 'a qcow2 image',
  vmdk: 'a VMDK image',
  vdi: 'a VirtualBox VDI image',
  vhdx: 'a VHDX image',
  vhd: 'a VHD image',
  qed: 'a QED image',
  iso9660: 'an ISO 9660 image',
  tar: 'a tar archive',
  html: 'an HTML page',
  disk: 'a raw disk image',
  unknown: 'of no format hvagent recognises',
};

export function describeKind(kind: ContentKind): string {
  return DESCRIPTIONS[kind];
}

/** Formats QEMU would read as something other than raw: never stored as a raw image. */
export const NOT_RAW: readonly ContentKind[] = ['gzip', 'xz', 'zstd', 'bzip2', 'qcow2', 'vmdk', 'vdi', 'vhdx', 'vhd', 'qed', 'tar', 'html'];
