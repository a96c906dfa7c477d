import { HvError } from '../../../src/core/errors.js';
import { diskError, writingIn } from '../../../src/core/disk-errors.js';

const place = { what: 'the lock directory', setting: 'paths.lock_dir', path: '/run/hvagent/locks' };
const failure = (code: string) => Object.assign(new Error(`${code}: something, open '/run/hvagent/locks/vm-a.lock'`), { code });

describe('a write that fails for lack of space or a read-only file system', () => {
  test.each([
    ['ENOSPC', 'DISK_FULL', 'no space left on its file system (ENOSPC)'],
    ['EDQUOT', 'DISK_FULL', 'the disk quota of its file system is used up (EDQUOT)'],
    ['EROFS', 'DISK_READ_ONLY', 'its file system is mounted read-only (EROFS)'],
  ])('%s is %s, naming the directory, its setting and the cause', (errno, code, cause) => {
    const error = diskError(failure(errno), place)!;
    expect(error).toBeInstanceOf(HvError);
    expect(error.code).toBe(code);
    expect(error.statuscode).toBe(1);
    expect(error.message).toBe(`Cannot write in the lock directory /run/hvagent/locks (paths.lock_dir): ${cause}. ${errno === 'EROFS' ? 'Remount it read-write, or set paths.lock_dir to another directory' : 'Free space there, or set paths.lock_dir to a directory on another file system'}`);
    expect(error.details).toEqual({ path: '/run/hvagent/locks', setting: 'paths.lock_dir', errno });
  });

  test('any other failure is not mapped, and writingIn passes it on unchanged', () => {
    expect(diskError(failure('EACCES'), place)).toBeUndefined();
    expect(diskError(new Error('no code'), place)).toBeUndefined();
    const denied = failure('EACCES');
    expect(() => writingIn(place, () => { throw denied; })).toThrow(denied);
    expect(() => writingIn(place, () => { throw failure('ENOSPC'); })).toThrow(expect.objectContaining({ code: 'DISK_FULL' }));
    expect(writingIn(place, () => 7)).toBe(7);
  });
});
