import { validateLvName } from '../../../src/storage/names.js';
import { validateVolumeName, withVolumeLock } from '../../../src/storage/index.js';
import { withLock } from '../../../src/files/locks.js';
import { configWith, refusal } from './helpers.js';

describe('volume names are one safe path segment', () => {
  test.each(['vm1-root', 'a', 'web.example.com-data1', 'A_b-c.d', 'x'.repeat(96), `${'v'.repeat(63)}-data12`])('accepts %s', (name) => {
    expect(validateVolumeName(name)).toBe(name);
  });

  test.each([
    ['empty', ''],
    ['parent', '..'],
    ['traversal', '../etc'],
    ['embedded traversal', 'a/../../b'],
    ['double dot inside', 'a..b'],
    ['absolute', '/etc/passwd'],
    ['slash', 'a/b'],
    ['NUL', 'a\0b'],
    ['leading dot (hidden, temporary parts)', '.a'],
    ['leading dash (an option to a tool)', '-rf'],
    ['space', 'a b'],
    ['newline', 'a\nb'],
    ['too long', 'x'.repeat(97)],
  ])('refuses %s', async (_why, name) => {
    const error = await refusal(() => validateVolumeName(name, 'name'));
    expect(error.code).toBe('INPUT_INVALID');
    expect(error.message).toContain("Input 'name'");
  });

  test('LVM also refuses its reserved names and parts', async () => {
    expect(validateLvName('vm1-root')).toBe('vm1-root');
    for (const name of ['snapshot', 'pvmove0', 'a_tmeta', 'x_rimage_1', 'data_cdata']) {
      expect((await refusal(() => validateLvName(name))).code).toBe('INPUT_INVALID');
    }
  });
});

describe('volume lock keys', () => {
  test('a long volume name under the longest pool name can be locked', async () => {
    const config = configWith({});
    const ran = await withVolumeLock(config, Date.now() + 30_000, 'p'.repeat(32), 'v'.repeat(96), async () => 'held');
    expect(ran).toBe('held');
  });

  test('keys that could leave the lock directory are still refused', async () => {
    const options = { directory: configWith({}).paths.lock_dir, deadline: Date.now() + 5_000 };
    for (const key of ['volume-../x', 'volume-a/b', '../volume-a', 'volume-', `volume-${'a'.repeat(161)}`]) {
      expect((await refusal(() => withLock(key, options, async () => undefined))).code).toBe('INTERNAL');
    }
    expect((await refusal(() => withVolumeLock(configWith({}), Date.now() + 5_000, 'p', '../x', async () => undefined))).code).toBe('INPUT_INVALID');
  });
});
