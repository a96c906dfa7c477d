import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgressReporter } from '../core/progress.js';
import { HvError } from '../core/errors.js';
import { checkMembers, HostileMember } from './archive-check.js';
import { writeFirstBoot, type FirstBoot } from './firstboot.js';
import { withTemporaryFile } from '../files/temporary.js';
import { runProcess } from '../process/run.js';
import { listArchive, ListingError } from './tar-listing.js';
import type { ArchiveTemplate } from './types.js';

// Unpacks a container template: archive, then overlay, then the first-boot file. Each
// archive is opened once, then listed and checked (archive-check.ts) and extracted from
// that same open file; nothing of an archive is unpacked unless every member passes; on any failure the directory is emptied again. GNU tar runs as root keeping numeric owners,
// modes and file capabilities: a root file system needs them (setuid binaries, files
// owned by system users whose names the host does not share).

export interface PopulateContext {
  signal?: AbortSignal;
  progress?: ProgressReporter;
}

/** tar reads and writes in records of 20 blocks of 512 bytes. */
const RECORD_BYTES = 10240;
const CHECKPOINT_RECORDS = 100;
const HEADER_BYTES = 512;
/** A root file system is unpacked in minutes at worst; a tar still running after this is stuck. */
const TAR_TIMEOUT_MS = 10 * 60_000;

export async function populateRootDirectory(template: ArchiveTemplate, directory: string, firstBoot: FirstBoot, ctx: PopulateContext = {}): Promise<void> {
  const root = emptyDirectory(directory);
  const progress = ctx.progress ?? (() => undefined);
  const archives = [{ file: template.archive, phase: 'unpacking' }, ...(template.overlay ? [{ file: template.overlay, phase: 'overlay' }] : [])];
  try {
    for (const { file, phase } of archives) {
      progress({ phase, percent: 0, message: `checking ${file}` });
      await unpack(template, file, root, phase, ctx.signal, progress);
    }
    progress({ phase: 'firstboot', message: 'writing /etc/hvagent/firstboot.conf' });
    writeFirstBoot(root, firstBoot);
  } catch (error) {
    // Leave the directory as it was given: empty (rmSync never follows a symlink).
    for (const entry of readdirSync(root)) rmSync(join(root, entry), { recursive: true, force: true });
    throw error;
  }
  progress({ phase: 'firstboot', percent: 100, message: `${template.ref} unpacked into ${root}` });
}

function emptyDirectory(directory: string): string {
  let root: string;
  try {
    root = realpathSync(directory);
    if (!lstatSync(root).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new HvError('NOT_FOUND', `Root directory ${directory} does not exist or is not a directory`);
  }
  if (readdirSync(root).length > 0) throw new HvError('CONFLICT', `Root directory ${directory} is not empty: a template is unpacked into an empty directory only`);
  return root;
}

/**
 * The archive is opened once and both listed and extracted through that descriptor
 * (/proc/<pid>/fd/<fd>), so a file renamed into its place after the check is never what
 * tar extracts; nor may it have been written to in between (size, mtime: a rename changes
 * its ctime, which is no change of content).
 */
async function unpack(template: ArchiveTemplate, file: string, root: string, phase: string, signal: AbortSignal | undefined, progress: ProgressReporter): Promise<void> {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const before = fstatSync(fd);
    if (!before.isFile()) throw new HvError('CONFIG_INVALID', `Template ${template.ref}: ${file} is not a regular file`, { template: template.ref, archive: file });
    await unpackOpen(template, file, `/proc/${process.pid}/fd/${fd}`, root, phase, signal, progress);
    const after = fstatSync(fd);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new HvError('CONFLICT', `Template ${template.ref}: ${file} was changed while it was unpacked; try again`, { template: template.ref, archive: file });
    }
  } finally {
    closeSync(fd);
  }
}

async function unpackOpen(template: ArchiveTemplate, file: string, opened: string, root: string, phase: string, signal: AbortSignal | undefined, progress: ProgressReporter): Promise<void> {
  const members = await listArchive(opened, signal);
  let checked;
  try {
    checked = checkMembers(members, root);
  } catch (error) {
    if (error instanceof HostileMember || error instanceof ListingError) {
      throw new HvError('CONFIG_INVALID', `Template ${template.ref}: ${file}: ${error.message}; nothing of it was unpacked`, {
        template: template.ref,
        archive: file,
      });
    }
    throw error;
  }
  // Exact stored names, NUL-terminated: whatever bytes they hold, tar matches them literally.
  const excluded = Buffer.concat(checked.excluded.flatMap((name) => [name, Buffer.from([0])]));
  await withTemporaryFile('unpack', 'exclude', excluded, async (excludes) => {
    const totalRecords = Math.max(1, (checked.contentBytes + HEADER_BYTES * 64) / RECORD_BYTES);
    await runProcess(
      'tar',
      [
        '--extract',
        '--file', opened,
        '--directory', root,
        '--numeric-owner',
        '--same-owner',
        '--same-permissions',
        '--xattrs',
        '--xattrs-include=security.capability',
        '--no-wildcards',
        '--anchored',
        '--null',
        `--exclude-from=${excludes}`,
        `--checkpoint=${CHECKPOINT_RECORDS}`,
        '--checkpoint-action=echo=hvagent-checkpoint %u',
      ],
      {
        signal,
        timeoutMs: TAR_TIMEOUT_MS,
        stderrNoise: /hvagent-checkpoint/,
        onStderr: (chunk) => {
          const last = [...chunk.matchAll(/hvagent-checkpoint (\d+)/g)].pop();
          if (last) progress({ phase, percent: Math.min(99, Math.floor((Number(last[1]) * CHECKPOINT_RECORDS * 100) / totalRecords)) });
        },
      },
    );
  });
  progress({ phase, percent: 100, message: `${file} unpacked` });
}
