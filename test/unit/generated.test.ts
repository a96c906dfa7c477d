import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Ajv04 from 'ajv-draft-04';
import { generatedArtefacts } from '../../src/ddl/artefacts.js';
import { choriaJsonDdl } from '../../src/ddl/generate/choria-json.js';
import { mcollectiveDdl } from '../../src/ddl/generate/mcollective-ddl.js';
import { mcollectiveStub } from '../../src/ddl/generate/mcollective-stub.js';
import { rubyString } from '../../src/ddl/generate/ruby.js';
import { loadDdlDirectory } from '../../src/ddl/load.js';
import { REPO } from '../helpers/agent.js';
import { sampleDdl } from './fixtures/sample-ddl.js';

const ddls = loadDdlDirectory(join(REPO, 'ddl'));
// Choria's schema writes its input-name pattern with Ruby/RE2 anchors (\A…\Z), which
// JavaScript regexes lack; translate them so the pattern is really applied.
const choriaSchema = JSON.parse(
  readFileSync(join(REPO, 'test/fixtures/choria-agent-ddl-v1.json'), 'utf8').replace('\\\\A[a-z0-9_]*\\\\Z', '^[a-z0-9_]*$'),
);
const validateChoriaDdl = new Ajv04.default({ strict: false }).compile(choriaSchema);

describe("each agent's compiled DDL piece (build/generated)", () => {
  const requireGenerated = createRequire(join(REPO, 'build/generated/index.cjs'));
  test.each(ddls.map((ddl) => [ddl.metadata.name, ddl]))('%s: an action asked for alone is the DDL of ddl/, as is the whole agent', (name, ddl) => {
    const piece = requireGenerated(`./agent-${name}.cjs`);
    expect(piece.actionNames).toEqual(ddl.actions.map((action) => action.action));
    for (const action of ddl.actions) expect(piece.action(action.action)).toEqual(action);
    expect(piece.action('no_such_action')).toBeUndefined();
    expect(piece.action('toString')).toBeUndefined();
    expect(piece.metadata).toEqual(ddl.metadata);
    expect(piece.ddl).toEqual(ddl);
    // One object per action, whichever way it was asked for.
    expect(piece.ddl.actions[0]).toBe(piece.action(ddl.actions[0]!.action));
  });
});

describe('artefacts generated from ddl/', () => {
  test.each(generatedArtefacts(ddls).map((artefact) => [artefact.path, artefact]))(
    '%s is up to date (npm run generate)',
    (path, artefact) => {
      expect(readFileSync(join(REPO, path), 'utf8')).toBe(artefact.content);
    },
  );

  test.each([...ddls, sampleDdl()].map((ddl) => [ddl.metadata.name, ddl]))(
    'the Choria JSON DDL of %s is valid against Choria’s agent DDL schema',
    (_, ddl) => {
      const document = JSON.parse(choriaJsonDdl(ddl));
      expect(validateChoriaDdl(document) ? [] : validateChoriaDdl.errors).toEqual([]);
      expect(document.metadata.provider).toBe('external');
      expect(document.$schema).toBe('https://choria.io/schemas/mcorpc/ddl/v1/agent.json');
    },
  );

  test('hvagent-only keys stay out of the Choria DDL', () => {
    const configure = JSON.parse(choriaJsonDdl(sampleDdl())).actions[0];
    expect(configure.input.count).not.toHaveProperty('minimum');
    expect(configure).not.toHaveProperty('mutating');
  });

  test('the Ruby DDL puts the range of a bounded input in its description: mco plugin doc shows nothing else', () => {
    expect(mcollectiveDdl(sampleDdl(), 'test')).toContain(":description => 'How many (1 to 64)'");
  });

  test('the Ruby DDL writes named validators as Symbols and regexes as single-quoted Strings', () => {
    const ruby = mcollectiveDdl(sampleDdl(), 'test');
    expect(ruby).toContain(':validation  => :shellsafe');
    expect(ruby).toContain(":validation  => '\\\\A[a-z][a-z0-9-]{0,31}\\\\z'");
    expect(ruby).toContain(":description => 'It\\'s free text'");
    expect(ruby).toContain(':default     => false');
    expect(ruby).toContain('aggregate summary(:result)');
  });

  test('aggregates: formats inside the call in Ruby, through the sum and average that skip failed replies; Choria JSON without sum and without formats', () => {
    const ruby = mcollectiveDdl(sampleDdl(), 'test');
    expect(ruby).toContain("    aggregate hvagent_sum(:items, :format => 'Total: %d')\n");
    expect(ruby).toContain("    aggregate hvagent_average(:items, :format => 'Average: %.1f%%')\n");
    const choria = JSON.parse(choriaJsonDdl(sampleDdl())).actions[0];
    expect(choria.aggregate).toEqual([
      { function: 'summary', args: ['result'] },
      { function: 'average', args: ['items'] },
    ]);
  });

  test('host usage sums fleet totals for mco and keeps only the CPU average for Choria', () => {
    const host = ddls.find((ddl) => ddl.metadata.name === 'host')!;
    const ruby = mcollectiveDdl(host, 'ddl/host.yaml');
    expect(ruby).toContain("aggregate hvagent_sum(:running_vms, :format => 'Total: %d')");
    expect(ruby).toContain("aggregate hvagent_sum(:free_memory_mb, :format => 'Total: %d MiB')");
    const usage = JSON.parse(choriaJsonDdl(host)).actions.find((action: { action: string }) => action.action === 'usage');
    expect(usage.aggregate).toEqual([{ function: 'average', args: ['cpu_percent'] }]);
  });

  test('Ruby strings cannot interpolate or break out', () => {
    expect(rubyString(`#{system("id")}' + \\`)).toBe(`'#{system("id")}\\' + \\\\'`);
  });

  test('the stub runs every action through the runner, not implemented_by', () => {
    const stub = mcollectiveStub(sampleDdl(), 'test');
    expect(stub).toContain('class Sample < RPC::Agent');
    expect(stub).toContain("action 'configure' do\n        Util::HvagentRunner.run(self, HVAGENT)");
    expect(stub).not.toContain('implemented_by');
  });
});
