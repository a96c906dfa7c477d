import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { HvError } from '../../src/core/errors.js';
import { actionInputSchema, AJV_FORMATS, AJV_OPTIONS } from '../../src/ddl/json-schema.js';
import { validateInputs } from '../../src/ddl/validate.js';
import { sampleDdl } from './fixtures/sample-ddl.js';

// The same schema builder and ajv options as the build; compiled at test time because
// the precompiled validators only cover the repository's own DDLs.
const ddl = sampleDdl();
const action = ddl.actions[0]!;
const ajv = new Ajv({ ...AJV_OPTIONS });
ajvFormats.default(ajv, [...AJV_FORMATS]);
const validator = ajv.compile(actionInputSchema('sample', action));
const validate = (data: unknown) => validateInputs(ddl, action, data, validator);

function failure(data: unknown): HvError {
  try {
    validate(data);
  } catch (error) {
    return error as HvError;
  }
  throw new Error(`accepted ${JSON.stringify(data)}`);
}

describe('input validation (strictest common rules of MCollective 2.12 and Choria)', () => {
  test('applies defaults and ignores process_results', () => {
    expect(validate({ name: 'web01', process_results: true })).toEqual({ name: 'web01', mode: 'soft', force: false });
  });

  test('floats accept integral numbers (Choria sends 1, MC sends 1.0)', () => {
    expect(validate({ name: 'a', ratio: 1 }).ratio).toBe(1);
    expect(validate({ name: 'a', ratio: 1.5 }).ratio).toBe(1.5);
  });

  test.each<[string, unknown, string, string]>([
    ['a missing required input', {}, 'INPUT_REQUIRED', "Input 'name' is required for sample#configure"],
    ['an undeclared input', { name: 'a', colour: 'red' }, 'INPUT_UNDECLARED', "Input 'colour' is not declared for sample#configure; valid inputs are: name, label"],
    ['a string for an integer', { name: 'a', count: '5' }, 'INPUT_INVALID', "Input 'count' must be an integer, not a string"],
    ['a fraction for an integer', { name: 'a', count: 2.5 }, 'INPUT_INVALID', "Input 'count' must be an integer, not number 2.5"],
    ['"true" for a boolean', { name: 'a', force: 'true' }, 'INPUT_INVALID', "Input 'force' must be a boolean (true or false), not a string"],
    ['a value outside the list', { name: 'a', mode: 'medium' }, 'INPUT_INVALID', "Input 'mode' must be one of hard, soft"],
    ['a regex mismatch', { name: 'Web01' }, 'INPUT_INVALID', "Input 'name' does not match \\A[a-z][a-z0-9-]{0,31}\\z"],
    ['a newline smuggled past ^$', { name: 'web\nrm' }, 'INPUT_INVALID', "Input 'name' does not match"],
    ['path traversal', { name: '../etc' }, 'INPUT_INVALID', "Input 'name' does not match"],
    ['too long', { name: 'a'.repeat(33) }, 'INPUT_INVALID', "Input 'name' is longer than 32 characters"],
    ['a shell command substitution', { name: 'a', label: '$(reboot)' }, 'INPUT_INVALID', "Input 'label' may not contain shell metacharacters"],
    ['a command separator', { name: 'a', label: 'x; rm -rf /' }, 'INPUT_INVALID', 'may not contain shell metacharacters'],
    ['&&', { name: 'a', label: 'x && y' }, 'INPUT_INVALID', 'may not contain shell metacharacters'],
    ['NUL', { name: 'a', label: 'x\u0000y' }, 'INPUT_INVALID', "Input 'label' may not contain NUL characters"],
    ['a bad IPv4 address', { name: 'a', address: '300.1.1.1' }, 'INPUT_INVALID', "Input 'address' is not an IPv4 address"],
    ['an IPv4 address for IPv6', { name: 'a', address6: '10.0.0.1' }, 'INPUT_INVALID', "Input 'address6' is not an IPv6 address"],
    ['below the minimum', { name: 'a', count: 0 }, 'INPUT_INVALID', "Input 'count' must be at least 1"],
    ['above the maximum', { name: 'a', count: 65 }, 'INPUT_INVALID', "Input 'count' must be at most 64"],
    ['a nested object', { name: { $gt: '' } }, 'INPUT_INVALID', "Input 'name' must be a string, not an object"],
    ['data that is a list', [1, 2], 'REQUEST_INVALID', 'Request data must be an object, not a list'],
    ['data that is a string', 'name=a', 'REQUEST_INVALID', 'Request data must be an object, not a string'],
  ])('refuses %s', (_, data, code, message) => {
    const error = failure(data);
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
    expect(error.statuscode).toBe(4);
  });

  test('a single & is shell-safe, as in MCollective', () => {
    expect(validate({ name: 'a', label: 'salt & pepper' }).label).toBe('salt & pepper');
  });

  test('undeclared names are made printable in messages', () => {
    expect(failure({ name: 'a', ['\u001b[31mred']: 1 }).message).toContain("Input '?[31mred' is not declared");
  });
});
