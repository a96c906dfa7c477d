import { HvError } from '../../core/errors.js';
import type { TemplateType } from '../ref.js';
import { describeKind, NOT_RAW, type ContentKind } from './sniff.js';

// What an import may keep for a template type, decided from the content (sniff.ts), never
// from a file name: the form it is stored in, or an INPUT_INVALID saying what the file is
// and what to do instead.

export type ImportFormat = 'auto' | 'qcow2' | 'raw';
export type StoredForm = 'qcow2' | 'raw' | 'iso' | 'archive';

const CONVERTIBLE: readonly ContentKind[] = ['vmdk', 'vdi', 'vhdx', 'vhd', 'qed'];

/** The form the content is kept in, or why it cannot be (for `Input 'source': SHOWN …`). */
export function storedForm(type: Exclude<TemplateType, 'pxe'>, format: ImportFormat, kind: ContentKind): StoredForm | { problem: string } {
  const is = describeKind(kind);
  switch (type) {
    case 'iso':
      return kind === 'iso9660' ? 'iso' : { problem: `is not an ISO 9660 image (it is ${is})` };
    case 'lxc':
    case 'tar':
      // Kept as it comes: tar reads gzip and xz itself, and lists every member before it is kept.
      if (kind === 'tar' || kind === 'gzip' || kind === 'xz') return 'archive';
      if (kind === 'zstd' || kind === 'bzip2') return { problem: `is ${is}: an archive is taken plain, gzip- or xz-compressed` };
      return { problem: `is not a tar archive (it is ${is})` };
    case 'image':
      return imageForm(format, kind, is);
  }
}

function imageForm(format: ImportFormat, kind: ContentKind, is: string): StoredForm | { problem: string } {
  const convert = CONVERTIBLE.includes(kind) ? `: convert it first (qemu-img convert -O qcow2)` : '';
  if (format === 'qcow2') return kind === 'qcow2' ? 'qcow2' : { problem: `is not a qcow2 image (it is ${is})${convert}` };
  if (format === 'raw') {
    if (kind === 'qcow2') return { problem: 'is a qcow2 image, not raw: import it with format=qcow2 or leave format out' };
    return NOT_RAW.includes(kind) ? { problem: `is ${is}, not a raw disk image${convert}` } : 'raw';
  }
  switch (kind) {
    case 'qcow2':
      return 'qcow2';
    case 'disk':
      return 'raw';
    case 'iso9660':
      return { problem: 'is an ISO 9660 image: import it as iso:NAME to install from it, or give format=raw to use it as a disk' };
    case 'unknown':
      return { problem: 'is not a qcow2 image and shows no partition table or boot sector: give format=raw if it is a raw disk image' };
    default:
      return { problem: `is ${is}, not a disk image (qcow2 or raw)${convert}` };
  }
}

/** The check receive() runs on the head of the content: throws INPUT_INVALID naming the source. */
export function contentCheck(type: Exclude<TemplateType, 'pxe'>, format: ImportFormat, shown: string, found: (form: StoredForm) => void) {
  return (kind: ContentKind): void => {
    const form = storedForm(type, format, kind);
    if (typeof form !== 'string') {
      throw new HvError('INPUT_INVALID', `Input 'source': ${shown} ${form.problem}; nothing was kept`, { input: 'source', found: kind });
    }
    found(form);
  };
}
