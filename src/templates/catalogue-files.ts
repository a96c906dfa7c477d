import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, realpathSync, rmdirSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { HvConfig } from '../config/schema.js';
import { processAlive, processStart } from '../process/identity.js';
import type { TemplateType } from './ref.js';
import { sha256Hex } from '../core/crypto.js';

// The files `template import` keeps in the catalogue directory, and how they are named:
//   <type dir>/NAME+ID.EXT   a template's content (ID: when, and a random part); a new file
//                            for every import, so a replaced template's file never changes
//                            under the VMs cloned from it. The '+' (never in a template name,
//                            always in a path the DDLs accept) marks hvagent's own files: one
//                            the manifest does not name is an old version (prune.ts).
//   .import/PID.START.RAND.part   an import in progress, invisible to the catalogue; one whose
//                            process is gone was killed, and the next import removes it.

export const TYPE_DIRECTORY = { image: 'images', iso: 'iso', lxc: 'lxc', tar: 'tar' } as const satisfies Partial<Record<TemplateType, string>>;
export type ImportableType = keyof typeof TYPE_DIRECTORY;

/** A file an import made: NAME+ID.EXT (NAME as TEMPLATE_NAME_PATTERN). */
export const IMPORTED_FILE = /^[a-z0-9][a-z0-9_.-]{0,62}\+[0-9a-z]{6,24}\.(qcow2|raw|iso|tar|tar\.gz|tar\.xz)$/;
const IMPORT_DIRECTORY = '.import';
const PART_FILE = /^(\d+)\.(\d+|x)\.[0-9a-f]+\.part$/;

/** The catalogue directory's real path, made (0755) when `create` is set and it is missing. */
export function catalogueDirectory(config: HvConfig, create: boolean): string {
  if (create) mkdirSync(config.templates.catalogue, { recursive: true, mode: 0o755 });
  return realpathSync(config.templates.catalogue);
}

/** Whether the catalogue directory exists yet. */
export function catalogueExists(config: HvConfig): boolean {
  return existsSync(config.templates.catalogue);
}

/**
 * After a failed import: the directories it made go again, when nothing else is in them
 * (rmdir removes only empty directories).
 */
export function removeEmptyDirectories(directory: string, made: { catalogue: boolean; parts: boolean }): void {
  for (const [path, madeIt] of [[join(directory, IMPORT_DIRECTORY), made.parts || made.catalogue], [directory, made.catalogue]] as const) {
    if (!madeIt) continue;
    try {
      rmdirSync(path);
    } catch {
      // Not empty (another import's part file, templates), or gone already.
    }
  }
}

/** What names the catalogue in lock keys: every config naming the same directory takes the same locks. */
export function catalogueId(directory: string): string {
  return sha256Hex(directory).slice(0, 16);
}

/** A new, empty file for an import in progress (O_EXCL: never an existing one); `madeDirectory`: .import was made for it. */
export async function createPartFile(directory: string, beforeCreate: (path: string) => void = () => undefined): Promise<{ path: string; handle: FileHandle; madeDirectory: boolean }> {
  const parts = join(directory, IMPORT_DIRECTORY);
  const path = join(parts, `${process.pid}.${processStart(process.pid) ?? 'x'}.${randomBytes(4).toString('hex')}.part`);
  beforeCreate(path);
  const create = () => open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  let madeDirectory = mkdirSync(parts, { recursive: true, mode: 0o700 }) !== undefined;
  // A failed import that made the directory removes it when empty: make it again if one just did.
  const handle = await create().catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    madeDirectory = mkdirSync(parts, { recursive: true, mode: 0o700 }) !== undefined;
    return create();
  });
  return { path, handle, madeDirectory };
}

/** Removes the part files of imports whose process is gone (killed); returns their paths. */
export function sweepPartFiles(directory: string): string[] {
  const parts = join(directory, IMPORT_DIRECTORY);
  let names: string[];
  try {
    names = readdirSync(parts);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const match = PART_FILE.exec(name);
    if (!match || processAlive(Number(match[1]), match[2] === 'x' ? null : Number(match[2]))) return [];
    try {
      unlinkSync(join(parts, name));
      return [join(parts, name)];
    } catch {
      return [];
    }
  });
}

/** The catalogue-relative name of a new file for `name`'s content. */
export function importedFileName(type: ImportableType, name: string, extension: string): string {
  return `${TYPE_DIRECTORY[type]}/${name}+${Date.now().toString(36)}${randomBytes(3).toString('hex')}.${extension}`;
}

/** Makes a rename (or an unlink) in `directory` survive a crash. */
export function syncDirectory(directory: string): void {
  const descriptor = openSync(directory, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/** Whether two files hold the same bytes (read side by side, constant memory). */
export async function sameContent(a: string, b: string): Promise<boolean> {
  const [first, second] = await Promise.all([open(a, constants.O_RDONLY | constants.O_NOFOLLOW), open(b, constants.O_RDONLY | constants.O_NOFOLLOW)]);
  try {
    const [sizeA, sizeB] = await Promise.all([first.stat(), second.stat()]).then((stats) => stats.map((stat) => stat.size));
    if (sizeA !== sizeB) return false;
    const chunk = 4 * 1024 * 1024;
    const [bufferA, bufferB] = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
    for (let position = 0; position < sizeA!; position += chunk) {
      const [readA, readB] = await Promise.all([first.read(bufferA, 0, chunk, position), second.read(bufferB, 0, chunk, position)]);
      if (readA.bytesRead !== readB.bytesRead || !bufferA.subarray(0, readA.bytesRead).equals(bufferB.subarray(0, readB.bytesRead))) return false;
      if (readA.bytesRead === 0) break;
    }
    return true;
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
}
