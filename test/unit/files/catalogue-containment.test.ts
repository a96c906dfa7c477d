import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relativePathProblem, resolveInside } from '../../../src/files/containment.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 't-catalogue-')));
const root = join(base, 'catalogue');
mkdirSync(join(root, 'images'), { recursive: true });
mkdirSync(join(root, 'pxe', 'tree'), { recursive: true });
writeFileSync(join(root, 'images', 'a.qcow2'), 'image');
writeFileSync(join(base, 'secret'), 'outside');
mkdirSync(`${root}-sibling`);
writeFileSync(`${root}-sibling/x`, 'shares the prefix only');
symlinkSync(join(base, 'secret'), join(root, 'images', 'escape.qcow2'));
symlinkSync('/etc', join(root, 'etc'));
symlinkSync(`${root}-sibling`, join(root, 'sibling'));
symlinkSync('a.qcow2', join(root, 'images', 'alias.qcow2'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('catalogue paths stay inside the catalogue', () => {
  test('files and directories inside, also through symlinks that stay inside', () => {
    expect(resolveInside(root, 'images/a.qcow2', 'file')).toEqual({ path: join(root, 'images', 'a.qcow2') });
    expect(resolveInside(root, 'images/alias.qcow2', 'file')).toEqual({ path: join(root, 'images', 'a.qcow2') });
    expect(resolveInside(root, 'pxe/tree', 'directory')).toEqual({ path: join(root, 'pxe', 'tree') });
  });

  test.each([
    ['../secret', "has a '..' segment"],
    ['images/../../secret', "has a '..' segment"],
    ['/etc/passwd', 'is absolute'],
    ['images/a.qcow2\0', 'NUL'],
    ['./images/a.qcow2', "'.' segment"],
    ['images//a.qcow2', 'empty'],
    ['images/escape.qcow2', 'leads out of the catalogue'],
    ['etc/passwd', 'leads out of the catalogue'],
    ['sibling/x', 'leads out of the catalogue'],
    ['images/missing.qcow2', 'does not exist'],
    ['images', 'is not a file'],
  ])('%j is refused (%s)', (relative, why) => {
    const resolved = resolveInside(root, relative, 'file');
    expect(resolved).toEqual({ problem: expect.stringContaining(why) });
  });

  test('a file is not a directory', () => {
    expect(resolveInside(root, 'images/a.qcow2', 'directory')).toEqual({ problem: "'images/a.qcow2' is not a directory" });
    expect(relativePathProblem('a/b.tar')).toBeUndefined();
  });
});
