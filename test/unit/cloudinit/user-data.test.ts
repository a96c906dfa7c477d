import { parse } from 'yaml';
import { HvError } from '../../../src/core/errors.js';
import { checkUserData, composeUserData } from '../../../src/cloudinit/user-data.js';
import { KEYS } from './fixtures/keys.js';

const SECRET = 's3cr3t-Passw0rd';

function refusal(text: string): HvError {
  try {
    checkUserData(text);
  } catch (error) {
    expect(error).toBeInstanceOf(HvError);
    expect((error as HvError).code).toBe('INPUT_INVALID');
    expect((error as HvError).details).toEqual({ input: 'user_data' });
    expect((error as HvError).message).not.toContain(SECRET);
    return error as HvError;
  }
  throw new Error('accepted');
}

describe('user_data', () => {
  test('a cloud-config document is accepted unchanged, and its hostname read', () => {
    const text = `#cloud-config\nhostname: web01\npackages: [nginx]\n`;
    expect(checkUserData(text)).toEqual({ text, hostname: 'web01', setsHostKeys: false });
    expect(checkUserData('#cloud-config\n')).toEqual({ text: '#cloud-config\n', hostname: undefined, setsHostKeys: false });
  });

  test.each([
    ['ssh_keys', '#cloud-config\nssh_keys:\n  ed25519_public: x\n', true],
    ['ssh_genkeytypes', '#cloud-config\nssh_genkeytypes: [ed25519]\n', true],
    ['ssh_deletekeys alone', '#cloud-config\nssh_deletekeys: false\n', false],
    ['ssh_keys nested elsewhere', '#cloud-config\nwrite_files:\n  - { path: /x, content: "ssh_keys: y" }\n', false],
  ])('a document with %s says itself what the host keys are: %s', (_what, text, sets) => {
    expect(checkUserData(text).setsHostKeys).toBe(sets);
  });

  test.each([
    ['a shell script', `#!/bin/sh\necho ${SECRET}\n`, /first line is exactly '#cloud-config'/],
    ['a document without its header', `chpasswd: { list: "root:${SECRET}" }\n`, /first line is exactly '#cloud-config'/],
    ['a list', `#cloud-config\n- ${SECRET}\n`, /must be a mapping/],
    ['a scalar', `#cloud-config\n${SECRET}\n`, /must be a mapping/],
  ])('%s is refused', (_what, text, message) => {
    expect(refusal(text).message).toMatch(message);
  });

  test('malformed YAML is refused with its line, column and kind, never its text', () => {
    const text = `#cloud-config\nusers:\n  - name: ops\n    passwd: ${SECRET}\n   groups: [sudo\n`;
    const refused = refusal(text);
    expect(refused.message).toMatch(/^Input 'user_data' is not valid YAML: line 5, column \d+: /);
  });

  test('a key given twice is refused', () => {
    expect(refusal(`#cloud-config\npassword: ${SECRET}\npassword: other\n`).message).toMatch(/line 3, column 1: a key given twice/);
  });

  test('an unclosed flow sequence is refused', () => {
    expect(refusal(`#cloud-config\nruncmd: [ ${SECRET}\n`).message).toMatch(/is not valid YAML: line \d+, column \d+: /);
  });
});

describe('the user-data file', () => {
  test('without user_data: a cloud-config of just the keys', () => {
    const text = composeUserData(undefined, [KEYS.ed, KEYS.rsa]);
    expect(text.split('\n')[0]).toBe('#cloud-config');
    expect(parse(text)).toEqual({ ssh_authorized_keys: [KEYS.ed, KEYS.rsa] });
    expect(composeUserData(undefined, [])).toBe('#cloud-config\n');
  });

  test('user_data without keys is passed on byte for byte', () => {
    const text = `#cloud-config\n# keep me\nruncmd:\n  - [touch, /root/x]   # and me\n`;
    expect(composeUserData(checkUserData(text), [])).toBe(text);
  });

  test("the keys are added to user_data's own list, keeping its other keys and comments", () => {
    const text = `#cloud-config\n# site defaults\nssh_authorized_keys:\n  - ${KEYS.ec256}\npackage_update: true\n`;
    const composed = composeUserData(checkUserData(text), [KEYS.ed, KEYS.ec256]);
    expect(composed.split('\n')[0]).toBe('#cloud-config');
    expect(composed).toContain('# site defaults');
    expect(parse(composed)).toEqual({ ssh_authorized_keys: [KEYS.ec256, KEYS.ed], package_update: true });
  });

  test('user_data without a list gets one; an empty document becomes the keys', () => {
    expect(parse(composeUserData(checkUserData('#cloud-config\nlocale: C.UTF-8\n'), [KEYS.ed]))).toEqual({ locale: 'C.UTF-8', ssh_authorized_keys: [KEYS.ed] });
    const empty = composeUserData(checkUserData('#cloud-config\n'), [KEYS.ed]);
    expect(empty.split('\n')[0]).toBe('#cloud-config');
    expect(parse(empty)).toEqual({ ssh_authorized_keys: [KEYS.ed] });
  });

  test("a user_data ssh_authorized_keys that is not a list cannot take the keys: refused", () => {
    const userData = checkUserData(`#cloud-config\nssh_authorized_keys: ${SECRET}\n`);
    expect(() => composeUserData(userData, [KEYS.ed])).toThrow(/ssh_authorized_keys that is not a list/);
  });
});
