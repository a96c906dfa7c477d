// MCollective actionpolicy files as the Ruby plugin's README and specs write them
// (choria-legacy/mcollective-actionpolicy-auth): the expected decisions are the plugin's,
// except where hvagent is deliberately stricter (exact callers, unreadable lines refuse).
import { describe, expect, test } from '@jest/globals';
import { evaluatePolicy, parsePolicy, type PolicyContext } from '../../../src/dispatch/policy.js';

function context(caller: string, action: string, extra: Partial<PolicyContext> = {}): PolicyContext {
  return {
    caller,
    action,
    facts: () => ({ country: 'uk', cores: '4', os: { family: 'Debian' } }),
    classes: () => new Set(['apache', 'webserver']),
    groups: () => new Map([['sysadmin', ['cert=sa1', 'cert=sa2']]]),
    ...extra,
  };
}

const decide = (text: string, caller: string, action: string, extra: Partial<PolicyContext> = {}) =>
  evaluatePolicy(parsePolicy('/etc/hvagent/policy/service.policy', text), context(caller, action, extra));

describe('actionpolicy files', () => {
  const readme = ['# the README example', 'policy default deny', 'allow\tuid=500\tstatus enable disable\tcountry=uk\tapache', 'allow\tuid=0\t*\t*\t*', ''].join('\n');

  test('the first matching line decides; none matching leaves the default', () => {
    expect(decide(readme, 'uid=500', 'status')).toEqual({ allow: true, why: '/etc/hvagent/policy/service.policy line 3' });
    expect(decide(readme, 'uid=500', 'restart')).toEqual({ allow: false, why: 'the default of /etc/hvagent/policy/service.policy' });
    expect(decide(readme, 'uid=0', 'restart').allow).toBe(true);
    expect(decide(readme, 'uid=1000', 'status').allow).toBe(false);
  });

  test('facts and classes must all hold', () => {
    expect(decide(readme, 'uid=500', 'status', { facts: () => ({ country: 'de' }) }).allow).toBe(false);
    expect(decide(readme, 'uid=500', 'status', { classes: () => new Set(['nginx']) }).allow).toBe(false);
    const numeric = 'policy default deny\nallow\t*\t*\tcores>=4 os.family=Debian\t*\n';
    expect(decide(numeric, 'uid=1', 'x').allow).toBe(true);
    expect(decide(numeric, 'uid=1', 'x', { facts: () => ({ cores: '2', os: { family: 'Debian' } }) }).allow).toBe(false);
  });

  test('without a classes field, a token without an operator is a class', () => {
    const mixed = 'policy default allow\ndeny\t*\tstop\twebserver country=uk\n';
    expect(decide(mixed, 'uid=1', 'stop').allow).toBe(false);
    expect(decide(mixed, 'uid=1', 'stop', { classes: () => new Set() }).allow).toBe(true);
  });

  test('a deny line refuses, policy default allow lets the rest through, a missing default denies', () => {
    const text = 'policy default allow\ndeny\tuid=500 uid=501\tstop\t*\t*\n';
    expect(decide(text, 'uid=501', 'stop')).toEqual({ allow: false, why: '/etc/hvagent/policy/service.policy line 2' });
    expect(decide(text, 'uid=501', 'status').allow).toBe(true);
    expect(decide('allow\tuid=0\tstatus\t*\t*\n', 'uid=0', 'stop').allow).toBe(false);
  });

  test('callers match exactly (the plugin matched a substring: uid=5 let uid=500 in), and groups stand for their members', () => {
    const text = 'policy default deny\nallow\tuid=5\t*\t*\t*\nallow\tsysadmin\tstatus\t*\t*\n';
    expect(decide(text, 'uid=500', 'status').allow).toBe(false);
    expect(decide(text, 'uid=5', 'status').allow).toBe(true);
    expect(decide(text, 'cert=sa2', 'status').allow).toBe(true);
    expect(decide(text, 'cert=sa3', 'status').allow).toBe(false);
  });

  test('a line that cannot be read refuses every request, naming it', () => {
    // Spaces instead of TABs: the plugin skipped such a line, which for a deny line allows.
    const spaces = 'policy default allow\ndeny uid=0 stop * *\n';
    expect(decide(spaces, 'uid=0', 'status')).toEqual({
      allow: false,
      why: '/etc/hvagent/policy/service.policy line 2 is neither "policy default allow|deny" nor a TAB-separated allow|deny rule',
    });
    const compound = 'policy default allow\ndeny\t*\tstop\t(country=uk or country=de)\t*\n';
    expect(decide(compound, 'uid=0', 'status').why).toMatch(/line 2 uses a compound fact or class expression/);
  });

  test('comments, blank lines and CRLF are ignored', () => {
    expect(decide('# c\r\n\r\npolicy default deny\r\nallow\tuid=0\tstatus\t*\t*\r\n', 'uid=0', 'status').allow).toBe(true);
  });
});
