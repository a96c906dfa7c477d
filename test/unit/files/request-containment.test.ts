import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HvError } from '../../../src/core/errors.js';
import { resolveAllowedPath } from '../../../src/files/containment.js';

const base = mkdtempSync(join(tmpdir(), 'hv-paths-'));
const images = join(base, 'images');
mkdirSync(join(images, 'ct'), { recursive: true });
writeFileSync(join(images, 'vmlinuz'), 'kernel');
writeFileSync(join(base, 'secret'), 'not yours');
symlinkSync(join(base, 'secret'), join(images, 'escape'));
symlinkSync(join(images, 'vmlinuz'), join(images, 'alias'));
mkdirSync(`${images}-evil`);
writeFileSync(`${images}-evil/x`, 'shares the prefix only');

function refusal(path: string, kind: 'file' | 'directory' = 'file'): HvError {
  try {
    resolveAllowedPath('kernel', path, kind, [images]);
  } catch (error) {
    return error as HvError;
  }
  throw new Error(`accepted ${path}`);
}

describe('paths named in requests stay inside the image directories', () => {
  test('files and directories inside are accepted, symlinks resolved', () => {
    expect(resolveAllowedPath('kernel', join(images, 'vmlinuz'), 'file', [images])).toBe(join(images, 'vmlinuz'));
    expect(resolveAllowedPath('kernel', join(images, 'alias'), 'file', [images])).toBe(join(images, 'vmlinuz'));
    expect(resolveAllowedPath('rootfs', join(images, 'ct'), 'directory', [images])).toBe(join(images, 'ct'));
  });

  test.each<[string, string, string]>([
    ['a path outside', '/etc/passwd', 'NOT_AUTHORIZED'],
    ['a symlink leading out', join(images, 'escape'), 'NOT_AUTHORIZED'],
    ['.. segments', `${images}/../secret`, 'INPUT_INVALID'],
    ['a relative path', 'vmlinuz', 'INPUT_INVALID'],
    ['a missing file', join(images, 'nope'), 'NOT_FOUND'],
    ['a sibling directory sharing the prefix', `${images}-evil/x`, 'NOT_AUTHORIZED'],
  ])('refuses %s', (_, path, code) => {
    expect(refusal(path).code).toBe(code);
  });

  test('a directory is not a file, nor a file a directory', () => {
    expect(refusal(join(images, 'ct')).code).toBe('INPUT_INVALID');
    expect(refusal(join(images, 'vmlinuz'), 'directory').code).toBe('INPUT_INVALID');
  });
});
