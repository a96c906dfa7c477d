import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkMembers, HostileMember } from '../../../src/templates/archive-check.js';
import { parseTarListing, type ArchiveMember } from '../../../src/templates/tar-listing.js';

// Lines as GNU tar 1.34 prints them with --verbose --numeric-owner --full-time --quoting-style=c.
const LISTING = [
  'drwxr-xr-x 0/0               0 2026-11-21 07:32:28 "./"',
  'drwxr-xr-x 0/0               0 2026-11-21 07:32:28 "./etc/"',
  '-rw-r--r-- 0/0               3 2026-11-21 07:32:28 "./etc/a"',
  'prw-r--r-- 0/0               0 2026-11-21 07:32:28 "./fifo"',
  '-rw-r--r-- 0/0               1 2026-11-21 07:32:28 "./dir/we\\"ird\\nname -> x"',
  'hrw-r--r-- 0/0               0 2026-11-21 07:32:28 "./dir/hard -> x" link to "./etc/a"',
  'lrwxrwxrwx 0/0               0 2026-11-21 07:32:28 "./abs" -> "/etc"',
  'crw-r--r-- 0/0             1,3 2026-11-21 07:32:28 "./dev/null"',
  '-rw-r--r-- 1000/1000      4096 2026-11-21 07:32:28 "caf\\303\\251 \\\\ tab\\t"',
].join('\n');

function member(type: ArchiveMember['type'], path: string, target?: string): ArchiveMember {
  return { type, stored: Buffer.from(path, 'latin1'), path: path.replace(/^(\.\/)+/, '').replace(/\/$/, ''), size: 0, ...(target !== undefined && { target }) };
}

function hostile(members: ArchiveMember[], directory = '/nonexistent-t-dir'): string {
  try {
    checkMembers(members, directory);
  } catch (error) {
    expect(error).toBeInstanceOf(HostileMember);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('GNU tar listing', () => {
  test('types, names with quotes, newlines, arrows and non-ASCII bytes, link targets, sizes', () => {
    const members = parseTarListing(LISTING);
    expect(members.map((m) => [m.type, m.path, m.target, m.size])).toEqual([
      ['directory', '', undefined, 0],
      ['directory', 'etc', undefined, 0],
      ['file', 'etc/a', undefined, 3],
      ['fifo', 'fifo', undefined, 0],
      ['file', 'dir/we"ird\nname -> x', undefined, 1],
      ['hardlink', 'dir/hard -> x', './etc/a', 0],
      ['symlink', 'abs', '/etc', 0],
      ['char', 'dev/null', undefined, 0],
      ['file', 'caf\xc3\xa9 \\ tab\t', undefined, 4096],
    ]);
    expect(members[8]!.stored.toString('utf8')).toBe('café \\ tab\t');
    expect(members[0]!.stored.toString()).toBe('./');
  });

  test('anything not understood is refused', () => {
    expect(() => parseTarListing('Vrw-r--r-- 0/0 0 2026-11-21 07:32:28 "label"')).toThrow('not supported');
    expect(() => parseTarListing('-rw-r--r-- 0/0 0 2026-11-21 07:32:28 "unterminated')).toThrow('unterminated');
    expect(() => parseTarListing('-rw-r--r-- 0/0 0 2026-11-21 07:32:28 "a" extra')).toThrow('trailing text');
    expect(() => parseTarListing('lrwxrwxrwx 0/0 0 2026-11-21 07:32:28 "a"')).toThrow('link target');
    expect(() => parseTarListing('no name here')).toThrow('no quoted name');
  });
});

describe('archive members that could reach outside the root directory', () => {
  test('an ordinary root file system passes; absolute symlinks are fine; device nodes are left out', () => {
    const checked = checkMembers(parseTarListing(LISTING), '/nonexistent-t-dir');
    expect(checked.excluded.map((name) => name.toString())).toEqual(['./dev/null']);
    expect(checked.contentBytes).toBe(3 + 1 + 4096);
  });

  test('absolute names and .. segments', () => {
    expect(hostile([member('file', '/etc/passwd')])).toBe('member "/etc/passwd" has an absolute name');
    expect(hostile([member('file', '../x')])).toContain("has a '..' segment");
    expect(hostile([member('directory', 'a/../../b/')])).toContain("has a '..' segment");
  });

  test('a member below a symlink of the same archive, whatever the order', () => {
    expect(hostile([member('symlink', './etc', '/etc'), member('file', './etc/passwd')])).toBe('member "./etc/passwd" lies below the symlink "etc"');
    expect(hostile([member('file', 'x/y/z'), member('symlink', 'x/y', '../../..')])).toContain('lies below the symlink "x/y"');
  });

  test('a directory where a symlink is', () => {
    expect(hostile([member('symlink', 'etc', '/etc'), member('directory', 'etc/')])).toContain('is a directory where there is a symlink');
  });

  test('hard links to absolute names, through .. or below a symlink', () => {
    expect(hostile([member('hardlink', 'shadow', '/etc/shadow')])).toContain('is a hard link whose target has an absolute name');
    expect(hostile([member('hardlink', 'shadow', '../../etc/shadow')])).toContain("is a hard link whose target has a '..' segment");
    expect(hostile([member('symlink', 'e', '/etc'), member('hardlink', 'shadow', './e/shadow')])).toContain('is a hard link to a file below the symlink "e"');
  });

  test('a member below a symlink already on disk (the overlay over the base)', () => {
    const root = mkdtempSync(join(tmpdir(), 't-check-'));
    mkdirSync(join(root, 'usr'));
    symlinkSync('/etc', join(root, 'etc'));
    symlinkSync('usr/bin', join(root, 'bin'));
    expect(hostile([member('file', 'etc/motd')], root)).toContain('lies below the symlink "etc"');
    expect(hostile([member('file', 'bin/sh')], root)).toContain('lies below the symlink "bin"');
    expect(hostile([member('directory', 'etc/')], root)).toContain('is a directory where there is a symlink');
    expect(hostile([member('hardlink', 'x', 'etc/shadow')], root)).toContain('below the symlink "etc"');
    expect(checkMembers([member('file', 'usr/motd'), member('file', 'etc')], root).excluded).toEqual([]);
    rmSync(root, { recursive: true, force: true });
  });
});
