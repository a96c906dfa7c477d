import { join } from 'node:path';
import { lintAgentDdl } from '../../src/ddl/lint.js';
import { loadDdlDirectory } from '../../src/ddl/load.js';
import { routeConflicts } from '../../src/ddl/routes.js';
import type { AgentDdl, InputItem } from '../../src/ddl/types.js';
import { REPO } from '../helpers/agent.js';
import { sampleDdl } from './fixtures/sample-ddl.js';

function lintWith(change: (ddl: AgentDdl) => void): string[] {
  const ddl = sampleDdl();
  change(ddl);
  return lintAgentDdl(ddl);
}

const firstAction = (ddl: AgentDdl) => ddl.actions[0]!;
const input = (ddl: AgentDdl, name: string) => firstAction(ddl).input[name] as InputItem;

describe('DDL routes', () => {
  test('two routes one request could match are refused, across agents, and so is one shadowing POST /v1/<agent>/<action>', () => {
    const one = sampleDdl();
    const two = sampleDdl();
    two.metadata.name = 'other';
    firstAction(one).http = 'POST /things/{name}';
    firstAction(two).http = 'POST /things/special';
    expect(routeConflicts([one, two]).join('\n')).toContain('overlaps');
    firstAction(two).http = `POST /sample/{name}`;
    expect(routeConflicts([one, two]).join('\n')).toContain('would shadow');
    firstAction(two).http = 'POST /other-things/{name}';
    expect(routeConflicts([one, two])).toEqual([]);
  });

  test('every mutating action of the repository gains the async input and the job_id output, and only those', () => {
    for (const ddl of loadDdlDirectory(join(REPO, 'ddl'))) {
      for (const action of ddl.actions) {
        expect([action.action, 'async' in action.input, 'job_id' in action.output]).toEqual([action.action, action.mutating === true, action.mutating === true]);
      }
    }
  });
});

describe('DDL lint: one file must work in MCollective 2.12 and Choria', () => {
  test('a table hint over an array output passes, and the server DDLs leave it out', async () => {
    const ddl = sampleDdl();
    firstAction(ddl).output.rows = { description: 'Rows', display_as: 'Rows', type: 'array' };
    firstAction(ddl).table = { rows: 'rows', columns: { name: 'NAME', size_mb: 'SIZE(MiB)' } };
    expect(lintAgentDdl(ddl)).toEqual([]);
    const { choriaJsonDdl } = await import('../../src/ddl/generate/choria-json.js');
    const { mcollectiveDdl } = await import('../../src/ddl/generate/mcollective-ddl.js');
    expect(choriaJsonDdl(ddl)).not.toContain('SIZE(MiB)');
    expect(mcollectiveDdl(ddl, 'x')).not.toContain('SIZE(MiB)');
  });

  test('the repository DDLs and the sample pass', () => {
    expect(() => loadDdlDirectory(join(REPO, 'ddl'))).not.toThrow();
    expect(lintAgentDdl(sampleDdl())).toEqual([]);
  });

  test.each([
    ['display', 'collides with a method'],
    ['reset', 'collides with a method'],
    ['sleep', 'collides with a method'],
    ['send', 'collides with a method'],
    ['Start', 'must match'],
  ])('action name %s is refused (%s)', (name, why) => {
    expect(lintWith((ddl) => (firstAction(ddl).action = name)).join('\n')).toContain(why);
  });

  test.each<[string, (ddl: AgentDdl) => void, string]>([
    ['hash inputs (broken in MC 2.12)', (ddl) => (input(ddl, 'name').type = 'hash' as never), 'type must be one of'],
    ['a string without maxlength', (ddl) => delete input(ddl, 'name').maxlength, 'maxlength of at least 1'],
    ['maxlength 0 (Choria skips validation)', (ddl) => (input(ddl, 'name').maxlength = 0), 'maxlength of at least 1'],
    ['a string without validation', (ddl) => delete input(ddl, 'name').validation, 'needs a validation'],
    ['an unanchored regex', (ddl) => (input(ddl, 'name').validation = '^[a-z]+$'), 'anchored'],
    ['a lookahead (RE2 lacks it)', (ddl) => (input(ddl, 'name').validation = '\\A(?!x)[a-z]+\\z'), 'lookaround'],
    ['the ipaddress validator (MC 2.12 lacks it)', (ddl) => (input(ddl, 'label').validation = 'ipaddress'), 'anchored'],
    ['an empty list', (ddl) => (input(ddl, 'mode').list = []), 'non-empty list'],
    ['a default outside the list', (ddl) => (input(ddl, 'mode').default = 'medium'), 'not one of the listed'],
    ['a default failing its validation', (ddl) => (input(ddl, 'name').default = 'UPPER'), 'does not pass its own validation'],
    ['a non-integer integer default', (ddl) => (input(ddl, 'count').default = 1.5), 'is not an integer'],
    ['process_results as an input', (ddl) => (firstAction(ddl).input.process_results = input(ddl, 'force')), 'reserved by MCollective'],
    ['error_code as an output', (ddl) => (firstAction(ddl).output.error_code = { description: 'x', display_as: 'x' }), 'reserved by hvagent'],
    ['a Choria-only aggregate (MC 2.12 lacks chart)', (ddl) => (firstAction(ddl).aggregate = [{ function: 'chart' as never, args: ['items'] }]), 'use summary, average, sum'],
    ['a sum of a string output', (ddl) => (firstAction(ddl).aggregate = [{ function: 'sum', args: ['result'] }]), 'must be declared integer, float or number'],
    ['a format with two numbers for sum', (ddl) => (firstAction(ddl).aggregate = [{ function: 'sum', args: ['items', { format: '%d of %d' }] }]), 'exactly 1 of'],
    ['a stray % in a format', (ddl) => (firstAction(ddl).aggregate = [{ function: 'average', args: ['items', { format: '%d %' }] }]), 'exactly 1 of'],
    ['a summary format with one value', (ddl) => (firstAction(ddl).aggregate = [{ function: 'summary', args: ['result', { format: '%s' }] }]), 'exactly 2 of'],
    ['options other than format', (ddl) => (firstAction(ddl).aggregate = [{ function: 'sum', args: ['items', { colour: 'red' } as never] }]), 'may only be { format'],
    ['a third aggregate argument', (ddl) => (firstAction(ddl).aggregate = [{ function: 'sum', args: ['items', { format: '%d' }, 'x'] as never }]), 'at most { format }'],
    ['type as an output', (ddl) => (firstAction(ddl).output.type = { description: 'x', display_as: 'x' }), "Choria's DDL schema refuses"],
    ['an aggregate of an unknown output', (ddl) => (firstAction(ddl).aggregate = [{ function: 'summary', args: ['nope'] }]), 'declared output'],
    ['a missing provider', (ddl) => (ddl.metadata.provider = undefined as never), 'provider must be "external"'],
    ['a timeout under 5 s', (ddl) => (ddl.metadata.timeout = 2), 'timeout must be'],
    ['a non-semver version', (ddl) => (ddl.metadata.version = '1.0'), 'MAJOR.MINOR.PATCH'],
    ['a duplicate action', (ddl) => ddl.actions.push(firstAction(ddl)), 'declared twice'],
    ['async as an input (hvagent adds it)', (ddl) => (firstAction(ddl).input.async = input(ddl, 'force')), 'reserved by hvagent'],
    ['job_id as an output (hvagent adds it)', (ddl) => (firstAction(ddl).output.job_id = { description: 'x', display_as: 'x' }), 'reserved by hvagent'],
    ['a route that is not METHOD /path', (ddl) => (firstAction(ddl).http = 'vms'), 'must be "METHOD /path"'],
    ['a route with an unknown method', (ddl) => (firstAction(ddl).http = 'FETCH /vms'), 'method must be one of'],
    ['a route naming an undeclared input', (ddl) => (firstAction(ddl).http = 'POST /things/{nope}'), '{nope} is not an input'],
    ['a route with an odd segment', (ddl) => (firstAction(ddl).http = 'POST /Things'), 'must be a lowercase word'],
    ['a GET route for a mutating action', (ddl) => (firstAction(ddl).http = 'GET /things/{name}'), 'cannot be GET'],
    ['a POST route for a read', (ddl) => ((firstAction(ddl).mutating = false), (firstAction(ddl).http = 'POST /things')), 'changes nothing is GET'],
    ['a route under the server\'s own /operations', (ddl) => (firstAction(ddl).http = 'POST /operations/{name}'), "the server's own"],
    ['a table over a non-array output', (ddl) => (firstAction(ddl).table = { rows: 'items', columns: { name: 'NAME' } }), 'rows must name a declared output of type array'],
    ['a table without columns', (ddl) => (firstAction(ddl).table = { rows: 'items', columns: {} }), 'columns must map'],
    ['a table header with a control character', (ddl) => (firstAction(ddl).table = { rows: 'items', columns: { name: 'NA\u001bME' } }), 'header of name'],
    ['a table with another key', (ddl) => (firstAction(ddl).table = { rows: 'items', columns: { name: 'NAME' }, colour: 'red' } as never), 'must be { rows, columns }'],
  ])('refuses %s', (_, change, why) => {
    expect(lintWith(change).join('\n')).toContain(why);
  });
});
