import { HvError } from '../../../src/core/errors.js';
import { parseTemplateRef } from '../../../src/templates/ref.js';

function refusal(ref: string): HvError {
  try {
    parseTemplateRef(ref, 'template');
  } catch (error) {
    return error as HvError;
  }
  throw new Error(`accepted ${JSON.stringify(ref)}`);
}

describe('template references [TYPE:]NAME', () => {
  test('every type with a well-formed name, and a bare name (its type undefined)', () => {
    expect(parseTemplateRef('image:debian12')).toEqual({ type: 'image', name: 'debian12' });
    expect(parseTemplateRef('iso:debian12-netinst')).toEqual({ type: 'iso', name: 'debian12-netinst' });
    expect(parseTemplateRef('debian12')).toEqual({ type: undefined, name: 'debian12' });
    expect(parseTemplateRef('lxc:debian-squeeze')).toEqual({ type: 'lxc', name: 'debian-squeeze' });
    expect(parseTemplateRef('tar:alpine_3.19')).toEqual({ type: 'tar', name: 'alpine_3.19' });
    expect(parseTemplateRef('pxe:centos6.2')).toEqual({ type: 'pxe', name: 'centos6.2' });
    expect(parseTemplateRef(`image:${'a'.repeat(63)}`).name).toHaveLength(63);
  });

  test.each([
    ['', 'empty'],
    ['image:', 'no name'],
    [':debian12', 'empty type'],
    ['vmdk:debian12', 'unknown type'],
    ['Debian12', 'capital in a bare name'],
    ['../etc', 'bare traversal'],
    ['IMAGE:debian12', 'type in capitals'],
    ['image:Debian12', 'capital in the name'],
    ['image:-x', 'leading dash'],
    ['image:.hidden', 'leading dot'],
    ['image:../etc', 'traversal'],
    ['image:a/b', 'slash'],
    ['image:a:b', 'second colon'],
    ['image:a\0b', 'NUL'],
    ['image:a b', 'space'],
    [`image:${'a'.repeat(64)}`, 'too long'],
  ])('%j is refused (%s) as INPUT_INVALID naming the input', (ref) => {
    const error = refusal(ref);
    expect(error).toBeInstanceOf(HvError);
    expect(error.code).toBe('INPUT_INVALID');
    expect(error.statuscode).toBe(4);
    expect(error.message).toContain("Input 'template'");
    expect(error.details).toEqual({ input: 'template' });
  });
});
