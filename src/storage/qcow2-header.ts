import { constants, type FileHandle, open } from 'node:fs/promises';

// What `volume list` needs from a qcow2 file (virtual size, backing file) is in its first
// cluster (docs/interop/qcow2.txt in QEMU). Reading it here costs no process per volume,
// where `qemu-img info` would cost one each.

const MAGIC = 0x514649fb; // "QFI\xfb"
const BACKING_FORMAT_EXTENSION = 0xe2792aca;
const DATA_FILE_EXTENSION = 0x44415441;
const HEAD_BYTES = 64 * 1024;

export interface Qcow2Header {
  virtualSize: number;
  backing: string | null;
  backingFormat: string | null;
  /** v3 incompatible feature bit 2: guest data lives in another file. */
  externalDataFile: boolean;
  /** The name of that file as the header stores it (relative names: to the image's directory). */
  dataFile: string | null;
}

const EXTERNAL_DATA_FILE = 1n << 2n;

/** The header of the qcow2 file open as `handle`, or undefined when it is not qcow2. */
export async function readQcow2Header(handle: FileHandle): Promise<Qcow2Header | undefined> {
  const head = Buffer.alloc(HEAD_BYTES);
  const { bytesRead } = await handle.read(head, 0, HEAD_BYTES, 0);
  if (bytesRead < 72 || head.readUInt32BE(0) !== MAGIC) return undefined;
  const version = head.readUInt32BE(4);
  const backingOffset = Number(head.readBigUInt64BE(8));
  const backingLength = head.readUInt32BE(16);
  const virtualSize = Number(head.readBigUInt64BE(24));
  let backing: string | null = null;
  if (backingOffset > 0 && backingLength > 0 && backingLength <= 1023) {
    const name = Buffer.alloc(backingLength);
    await handle.read(name, 0, backingLength, backingOffset);
    backing = name.toString('utf8');
  }
  const externalDataFile = version >= 3 && bytesRead >= 80 && (head.readBigUInt64BE(72) & EXTERNAL_DATA_FILE) !== 0n;
  const extensions = headerExtensions(head.subarray(0, bytesRead), version);
  return {
    virtualSize,
    backing,
    backingFormat: backing ? (extensions.get(BACKING_FORMAT_EXTENSION) ?? null) : null,
    externalDataFile,
    dataFile: externalDataFile ? (extensions.get(DATA_FILE_EXTENSION) ?? null) : null,
  };
}

/** The header extensions in the first cluster, by type, as text. */
function headerExtensions(head: Buffer, version: number): Map<number, string> {
  const found = new Map<number, string>();
  let at = version >= 3 && head.length >= 104 ? head.readUInt32BE(100) : 72;
  while (at + 8 <= head.length) {
    const type = head.readUInt32BE(at);
    const length = head.readUInt32BE(at + 4);
    if (type === 0) break;
    found.set(type, head.subarray(at + 8, Math.min(head.length, at + 8 + length)).toString('utf8'));
    at += 8 + Math.ceil(length / 8) * 8;
  }
  return found;
}

/** Opens a file without following a symlink in its last component (ELOOP then). */
export function openNoFollow(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
}
