import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { ArchiveMember } from './tar-listing.js';

// What may be unpacked into a root directory. A root file system legitimately holds
// absolute symlinks (/etc/mtab -> /proc/self/mounts): they mean something inside the
// container. What must never happen is the host-side extraction going THROUGH a link:
// a member `etc/passwd` below a symlink `etc -> /etc` would overwrite the host's file, a
// hard link to `x/shadow` below `x -> /etc` would link the host's file into the guest.
// So: no absolute names, no `..`, no member (nor hard link target) below a symlink, be it
// in the archive or already on disk (the overlay goes over the base). Device nodes are
// left out rather than created on the host: libvirt gives a container its own /dev.

export interface CheckedArchive {
  /** Stored names tar must skip (device nodes). */
  excluded: Buffer[];
  /** Bytes of content, for progress. */
  contentBytes: number;
}

export class HostileMember extends Error {
  constructor(
    readonly member: string,
    why: string,
  ) {
    super(`member ${JSON.stringify(member)} ${why}`);
  }
}

function pathProblem(path: string): string | undefined {
  if (path.startsWith('/')) return 'has an absolute name';
  if (path.split('/').includes('..')) return "has a '..' segment";
  return undefined;
}

/** The proper ancestors of a normalised path: 'a/b/c' → ['a', 'a/b']. */
function ancestors(path: string): string[] {
  const segments = path.split('/');
  return segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'));
}

/** Whether `relative` (latin1 path) exists in `directory` as a symlink. */
function symlinkOnDisk(directory: string | undefined, relative: string): boolean {
  if (directory === undefined) return false;
  try {
    return lstatSync(join(directory, Buffer.from(relative, 'latin1').toString())).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Throws HostileMember for the first member that could write or link outside `directory`
 * (undefined: an archive checked on its own, before it has anywhere to go).
 */
export function checkMembers(members: readonly ArchiveMember[], directory?: string): CheckedArchive {
  const symlinks = new Set(members.filter((member) => member.type === 'symlink').map((member) => member.path));
  const throughSymlink = (path: string): string | undefined =>
    ancestors(path).find((ancestor) => symlinks.has(ancestor) || symlinkOnDisk(directory, ancestor));
  const excluded: Buffer[] = [];
  let contentBytes = 0;
  for (const member of members) {
    const name = member.stored.toString('latin1');
    const problem = pathProblem(member.path);
    if (problem) throw new HostileMember(name, problem);
    const via = throughSymlink(member.path);
    if (via !== undefined) throw new HostileMember(name, `lies below the symlink ${JSON.stringify(via)}`);
    // A directory over a symlink: tar could chmod/chown the link's target.
    if (member.type === 'directory' && member.path !== '' && (symlinks.has(member.path) || symlinkOnDisk(directory, member.path))) {
      throw new HostileMember(name, 'is a directory where there is a symlink');
    }
    if (member.type === 'hardlink') {
      const target = member.target!;
      const targetProblem = pathProblem(target);
      if (targetProblem) throw new HostileMember(name, `is a hard link whose target ${targetProblem}`);
      const targetVia = throughSymlink(target.replace(/^(\.\/)+/, ''));
      if (targetVia !== undefined) throw new HostileMember(name, `is a hard link to a file below the symlink ${JSON.stringify(targetVia)}`);
    }
    if (member.type === 'char' || member.type === 'block') excluded.push(member.stored);
    contentBytes += member.size;
  }
  return { excluded, contentBytes };
}
