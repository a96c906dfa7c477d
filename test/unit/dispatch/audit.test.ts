// What the audit line shows of a request's inputs: secret inputs (DDL `secret: true`),
// undeclared ones and credentials in URLs never; and the secret marker stays out of the
// Choria DDL, which does not know it.
import { describe, expect, test } from '@jest/globals';
import { redactInputs, targetsOf } from '../../../src/dispatch/audit.js';
import { choriaJsonDdl } from '../../../src/ddl/generate/choria-json.js';
import type { ActionDdl, AgentDdl, InputItem } from '../../../src/ddl/types.js';

const text = (extra: Partial<InputItem> = {}): InputItem => ({ prompt: 'p', description: 'd', type: 'string', optional: true, validation: '\\A.*\\z', maxlength: 4096, ...extra });
const action: ActionDdl = {
  action: 'create',
  description: 'd',
  display: 'always',
  input: { name: text(), user_data: text({ secret: true }), source: text(), pool: text() },
  output: {},
  mutating: true,
};

describe('audit inputs', () => {
  test('secret and undeclared values are replaced, URL credentials cut, long values shortened', () => {
    const shown = redactInputs({ name: 'web01', user_data: '#cloud-config\npassword: hunter2', source: 'https://bob:hunter2@images.example/x.img', extra: 'hunter2', pool: 'p'.repeat(300) }, action);
    expect(shown).toEqual({ name: 'web01', user_data: '[secret]', source: 'https://[secret]@images.example/x.img', extra: '[undeclared]', pool: `${'p'.repeat(256)}…` });
    expect(JSON.stringify(shown)).not.toContain('hunter2');
  });

  test('without the action (an unknown one) nothing is shown; a request that is not an object has no inputs', () => {
    expect(redactInputs({ token: 'hunter2' }, undefined)).toEqual({ token: '[undeclared]' });
    expect(redactInputs('hunter2', action)).toBeNull();
  });

  test('targets name what the request acts on, never a secret', () => {
    expect(targetsOf('vm', { name: 'web01', pool: 'fast' }, action)).toEqual(['vm:web01', 'pool:fast']);
  });

  test("the secret marker is hvagent's own: the Choria DDL leaves it out", () => {
    const ddl: AgentDdl = { metadata: { name: 'vm', description: 'd', author: 'a', license: 'l', version: '1', url: 'u', timeout: 10, provider: 'external' }, actions: [action] };
    expect(choriaJsonDdl(ddl)).not.toContain('secret');
  });
});
