// populateRootDirectory with real GNU tar: the test catalogue's archives with overlay and
// first-boot file, and hostile archives built here: nothing may land outside the root.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ProgressUpdate } from '../../src/core/progress.js';
import { HvError } from '../../src/core/errors.js';
import { findTemplate } from '../../src/templates/catalogue.js';
import { populateRootDirectory } from '../../src/templates/populate.js';
import type { ArchiveTemplate } from '../../src/templates/types.js';
import { exchangeLoop } from '../helpers/exchange.js';
import { cleanupScratch, configFor, scratchDirectory, tar, testCatalogue } from './helpers.js';

const FIRSTBOOT = { name: 't-web01', nics: [{ mac: '52:54:00:12:34:56', network: 'default' }], metadata: { role: "it's web" } };

let catalogue: string;
beforeAll(async () => {
  catalogue = await testCatalogue();
});
afterAll(cleanupScratch);

function archiveTemplate(archive: string, overlay?: string): ArchiveTemplate {
  return { type: 'lxc', name: 'hostile', ref: 'lxc:hostile', description: 'test', archive, ...(overlay && { overlay }), fileBytes: 0 };
}

async function refusal(promise: Promise<unknown>): Promise<HvError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HvError);
    return error as HvError;
  }
  throw new Error('accepted');
}

describe('unpacking a container template', () => {
  test('lxc:busybox: archive, then overlay, then the first-boot file; progress reported', async () => {
    const template = (await findTemplate(configFor(catalogue), 'lxc:busybox')) as ArchiveTemplate;
    expect(template.overlay).toBe(join(catalogue, 'lxc', 'busybox-overlay.tar.gz'));
    const root = scratchDirectory('root');
    const updates: ProgressUpdate[] = [];
    await populateRootDirectory(template, root, FIRSTBOOT, { progress: (update) => updates.push(update) });

    expect(statSync(join(root, 'sbin', 'init')).mode & 0o111).toBeTruthy();
    expect(lstatSync(join(root, 'bin', 'sh')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(root, 'etc', 'motd'), 'utf8')).toContain('lxc:busybox');
    const conf = readFileSync(join(root, 'etc', 'hvagent', 'firstboot.conf'), 'utf8');
    expect(conf).toContain("HVAGENT_NAME='t-web01'\n");
    expect(conf).toContain("HVAGENT_NIC0_MAC='52:54:00:12:34:56'\n");
    expect(conf).toContain("HVAGENT_META_ROLE='it'\\''s web'\n");
    expect(JSON.parse(readFileSync(join(root, 'etc', 'hvagent', 'firstboot.json'), 'utf8'))).toMatchObject({ name: 't-web01' });
    // The init the container runs reads the first-boot file.
    const init = await execa('chroot', [root, '/bin/sh', '-c', '. /etc/hvagent/firstboot.conf && echo "$HVAGENT_NAME"']);
    expect(init.stdout).toBe('t-web01');

    expect(updates.map((update) => update.phase)).toEqual(expect.arrayContaining(['unpacking', 'overlay', 'firstboot']));
    expect(updates.filter((update) => update.phase === 'unpacking').at(-1)).toMatchObject({ percent: 100 });
    expect(updates.at(-1)).toMatchObject({ phase: 'firstboot', percent: 100 });
    expect(updates.every((update) => update.percent === undefined || (update.percent >= 0 && update.percent <= 100))).toBe(true);
  });

  test('tar:busybox (tar.xz) unpacks the same root, without overlay', async () => {
    const template = (await findTemplate(configFor(catalogue), 'tar:busybox')) as ArchiveTemplate;
    const root = scratchDirectory('root');
    await populateRootDirectory(template, root, { name: 't-ct', nics: [] });
    expect(existsSync(join(root, 'bin', 'busybox'))).toBe(true);
    expect(existsSync(join(root, 'etc', 'motd'))).toBe(false);
    expect(readFileSync(join(root, 'etc', 'hvagent', 'firstboot.conf'), 'utf8')).toContain("HVAGENT_NIC_COUNT='0'");
  });

  test('numeric owners, setuid modes and FIFOs are kept; device nodes are left out', async () => {
    const src = scratchDirectory('src');
    mkdirSync(join(src, 'usr', 'bin'), { recursive: true });
    writeFileSync(join(src, 'usr', 'bin', 'su'), '#!/bin/sh\n', { mode: 0o755 });
    await execa('chown', ['4321:8765', join(src, 'usr', 'bin', 'su')]);
    await execa('chmod', ['4755', join(src, 'usr', 'bin', 'su')]);
    mkdirSync(join(src, 'dev'));
    await execa('mknod', [join(src, 'dev', 'sda'), 'b', '8', '0']);
    await execa('mkfifo', [join(src, 'fifo')]);
    const archive = join(scratchDirectory('arch'), 'root.tar');
    await tar(['--numeric-owner', '-C', src, '-cf', archive, '.']);

    const root = scratchDirectory('root');
    await populateRootDirectory(archiveTemplate(archive), root, { name: 't-ct', nics: [] });
    const su = statSync(join(root, 'usr', 'bin', 'su'));
    expect([su.uid, su.gid, su.mode & 0o7777]).toEqual([4321, 8765, 0o4755]);
    expect(lstatSync(join(root, 'fifo')).isFIFO()).toBe(true);
    expect(existsSync(join(root, 'dev'))).toBe(true);
    expect(existsSync(join(root, 'dev', 'sda'))).toBe(false);
  });

  test('only an empty directory is filled', async () => {
    const template = (await findTemplate(configFor(catalogue), 'tar:busybox')) as ArchiveTemplate;
    const root = scratchDirectory('root');
    writeFileSync(join(root, 'keep'), 'mine');
    expect((await refusal(populateRootDirectory(template, root, { name: 't-ct', nics: [] }))).code).toBe('CONFLICT');
    expect(readdirSync(root)).toEqual(['keep']);
    expect((await refusal(populateRootDirectory(template, join(root, 'missing'), { name: 't-ct', nics: [] }))).code).toBe('NOT_FOUND');
  });

  test('a bad first-boot name is refused', async () => {
    const template = (await findTemplate(configFor(catalogue), 'tar:busybox')) as ArchiveTemplate;
    const error = await refusal(populateRootDirectory(template, scratchDirectory('root'), { name: '../x', nics: [] }));
    expect(error.code).toBe('INPUT_INVALID');
  });
});

describe('hostile archives: refused whole, nothing written outside the root', () => {
  let outside: string;
  beforeEach(() => {
    outside = scratchDirectory('outside');
    writeFileSync(join(outside, 'target'), 'original');
  });

  /** The root is left empty and the outside directory exactly as it was. */
  function untouched(root: string): void {
    expect(readdirSync(root)).toEqual([]);
    expect(readdirSync(outside)).toEqual(['target']);
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('original');
  }

  async function refusedArchive(archive: string, why: string): Promise<void> {
    const root = scratchDirectory('root');
    const error = await refusal(populateRootDirectory(archiveTemplate(archive), root, { name: 't-ct', nics: [] }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(why);
    expect(error.message).toContain('nothing of it was unpacked');
    untouched(root);
  }

  test("a member named ../…", async () => {
    const src = scratchDirectory('src');
    writeFileSync(join(src, 'evil'), 'x');
    const archive = join(scratchDirectory('arch'), 'dotdot.tar');
    await tar(['-C', src, '-cf', archive, '--transform', `s,^,../${outside.split('/').pop()}/,`, 'evil']);
    await refusedArchive(archive, "has a '..' segment");
  });

  test('a member with an absolute name', async () => {
    const src = scratchDirectory('src');
    writeFileSync(join(src, 'evil'), 'x');
    const archive = join(scratchDirectory('arch'), 'absolute.tar');
    await tar(['-C', src, '-P', '-cf', archive, '--transform', `s,^,${outside}/,`, 'evil']);
    await refusedArchive(archive, 'has an absolute name');
  });

  test('a symlink to outside, then a member below it', async () => {
    const links = scratchDirectory('src');
    symlinkSync(outside, join(links, 'etc'));
    const files = scratchDirectory('src');
    mkdirSync(join(files, 'etc'));
    writeFileSync(join(files, 'etc', 'target'), 'overwritten');
    const archive = join(scratchDirectory('arch'), 'through-symlink.tar');
    await tar(['-cf', archive, '-C', links, 'etc', '-C', files, 'etc/target']);
    await refusedArchive(archive, 'lies below the symlink "etc"');
  });

  test('a hard link to an absolute name links nothing of the host (tar makes the target relative; the link fails)', async () => {
    const src = scratchDirectory('src');
    writeFileSync(join(src, 'a'), 'x');
    await execa('ln', [join(src, 'a'), join(src, 'b')]);
    const archive = join(scratchDirectory('arch'), 'hardlink.tar');
    // The names made relative, the hard link's target left absolute (flag H): b links to /tmp/…/a.
    await tar(['-P', '-cf', archive, '--transform', `s,^${src}/,,H`, join(src, 'a'), join(src, 'b')]);
    const root = scratchDirectory('root');
    const error = await refusal(populateRootDirectory(archiveTemplate(archive), root, { name: 't-ct', nics: [] }));
    expect(error.code).toBe('COMMAND_FAILED');
    expect(error.message).toContain('Cannot hard link');
    expect(statSync(join(src, 'a')).nlink).toBe(2);
    expect(readdirSync(root)).toEqual([]);
  });

  test('an overlay member below a symlink the base archive made', async () => {
    const base = scratchDirectory('src');
    symlinkSync(outside, join(base, 'etc'));
    const overlay = scratchDirectory('src');
    mkdirSync(join(overlay, 'etc'));
    writeFileSync(join(overlay, 'etc', 'target'), 'overwritten');
    const dir = scratchDirectory('arch');
    await tar(['-C', base, '-cf', join(dir, 'base.tar'), '.']);
    await tar(['-C', overlay, '-cf', join(dir, 'overlay.tar'), 'etc/target']);
    const root = scratchDirectory('root');
    const error = await refusal(populateRootDirectory(archiveTemplate(join(dir, 'base.tar'), join(dir, 'overlay.tar')), root, { name: 't-ct', nics: [] }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('overlay.tar: member "etc/target" lies below the symlink "etc"');
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('original');
    expect(readdirSync(outside)).toEqual(['target']);
  });

  test('an overlay file over a symlink of the base replaces the link, not its target', async () => {
    const base = scratchDirectory('src');
    mkdirSync(join(base, 'etc'));
    symlinkSync(join(outside, 'target'), join(base, 'etc', 'motd'));
    const overlay = scratchDirectory('src');
    mkdirSync(join(overlay, 'etc'));
    writeFileSync(join(overlay, 'etc', 'motd'), 'hello');
    const dir = scratchDirectory('arch');
    await tar(['-C', base, '-cf', join(dir, 'base.tar'), '.']);
    await tar(['-C', overlay, '-cf', join(dir, 'overlay.tar'), '.']);
    const root = scratchDirectory('root');
    await populateRootDirectory(archiveTemplate(join(dir, 'base.tar'), join(dir, 'overlay.tar')), root, { name: 't-ct', nics: [] });
    expect(lstatSync(join(root, 'etc', 'motd')).isFile()).toBe(true);
    expect(readFileSync(join(root, 'etc', 'motd'), 'utf8')).toBe('hello');
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('original');
  });

  test('the first-boot file is never written through a symlink of the template', async () => {
    const throughDir = scratchDirectory('src');
    mkdirSync(join(throughDir, 'etc'));
    symlinkSync(outside, join(throughDir, 'etc', 'hvagent'));
    const throughFile = scratchDirectory('src');
    mkdirSync(join(throughFile, 'etc', 'hvagent'), { recursive: true });
    symlinkSync(join(outside, 'target'), join(throughFile, 'etc', 'hvagent', 'firstboot.conf'));
    const dir = scratchDirectory('arch');
    await tar(['-C', throughDir, '-cf', join(dir, 'dir.tar'), '.']);
    await tar(['-C', throughFile, '-cf', join(dir, 'file.tar'), '.']);

    const error = await refusal(populateRootDirectory(archiveTemplate(join(dir, 'dir.tar')), scratchDirectory('root'), { name: 't-ct', nics: [] }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('/etc/hvagent is a symlink');

    const root = scratchDirectory('root');
    await populateRootDirectory(archiveTemplate(join(dir, 'file.tar')), root, { name: 't-ct', nics: [] });
    expect(lstatSync(join(root, 'etc', 'hvagent', 'firstboot.conf')).isFile()).toBe(true);
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('original');
    expect(readdirSync(outside)).toEqual(['target']);
  });

  test('a file that is not an archive', async () => {
    const file = join(scratchDirectory('arch'), 'not.tar.gz');
    writeFileSync(file, 'not an archive at all');
    const error = await refusal(populateRootDirectory(archiveTemplate(file), scratchDirectory('root'), { name: 't-ct', nics: [] }));
    expect(error.code).toBe('COMMAND_FAILED');
    expect(error.message).toContain('tar --list');
  });
});

describe('an archive swapped by rename while it is checked and unpacked', () => {
  test('what tar extracts is always the archive that was checked: its device nodes left out, never another file', async () => {
    const build = async (label: string, withDevice: boolean) => {
      const src = scratchDirectory(`src-${label}`);
      writeFileSync(join(src, `marker-${label}`), label);
      if (withDevice) await execa('mknod', [join(src, 'disk'), 'b', '8', '0']);
      const archive = join(scratchDirectory(`arch-${label}`), 'root.tar');
      await tar(['--numeric-owner', '-C', src, '-cf', archive, '.']);
      return archive;
    };
    // The template's file, and what is renamed into its place and back: the same members plus a device node.
    const archive = await build('plain', false);
    const swapped = await build('device', true);
    const loop = exchangeLoop(archive, swapped, 0.0003);
    const seen = { plain: 0, device: 0 };
    try {
      for (let round = 0; round < 30; round += 1) {
        const root = scratchDirectory('root');
        await populateRootDirectory(archiveTemplate(archive), root, { name: 't-ct', nics: [] });
        const entries = readdirSync(root).filter((entry) => entry !== 'etc');
        // Exactly one archive's files, and no device node: the one whose listing was checked was the one extracted.
        expect([['marker-plain'], ['marker-device']]).toContainEqual(entries);
        seen[entries[0] === 'marker-plain' ? 'plain' : 'device'] += 1;
      }
    } finally {
      expect(await loop.stop()).toBeGreaterThan(0);
    }
    // Both files were met, so the swap really raced the unpacking.
    expect(seen.plain).toBeGreaterThan(0);
    expect(seen.device).toBeGreaterThan(0);
  });
});
