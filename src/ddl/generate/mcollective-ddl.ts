import { NAMED_VALIDATORS, type ActionDdl, type AgentDdl, type AggregateFunction, type InputItem, type OutputItem } from '../types.js';
import { rubyOptions, rubyString, rubyValue } from './ruby.js';

/**
 * MCollective's own sum and average raise on a nil, and a failed reply (or a host without
 * the VM asked for) carries every output as nil: one such host turned every total into
 * "Could not compute summary". hvagent's versions (mcollective/aggregate/, installed beside
 * the agents) count only the replies that have a number. summary already skips nil.
 */
export const MCOLLECTIVE_FUNCTION: Record<AggregateFunction, string> = { summary: 'summary', sum: 'hvagent_sum', average: 'hvagent_average' };

/** `mcollective/agent/<agent>.ddl`: loads in MCollective 2.12 and renders with `mco plugin doc`. */
export function mcollectiveDdl(ddl: AgentDdl, source: string): string {
  const meta = ddl.metadata;
  const metadata = rubyOptions(
    [
      ['name', rubyString(meta.name)],
      ['description', rubyString(meta.description)],
      ['author', rubyString(meta.author)],
      ['license', rubyString(meta.license)],
      ['version', rubyString(meta.version)],
      ['url', rubyString(meta.url)],
      ['timeout', String(meta.timeout)],
      ['provider', rubyString(meta.provider)],
    ],
    '         ',
  );
  const actions = ddl.actions.map(rubyAction).join('\n');
  return `# Generated from ${source} by hvagent. Do not edit: change the YAML and run npm run generate.\nmetadata ${metadata}\n\n${actions}`;
}

function rubyAction(action: ActionDdl): string {
  const lines = [`action ${rubyString(action.action)}, :description => ${rubyString(action.description)} do`, `  display :${action.display}`];
  for (const [name, input] of Object.entries(action.input)) lines.push('', `  input :${name},\n        ${rubyOptions(inputPairs(input), '        ')}`);
  for (const [name, output] of Object.entries(action.output)) lines.push('', `  output :${name},\n         ${rubyOptions(outputPairs(output), '         ')}`);
  if (action.aggregate?.length) {
    lines.push('', '  summarize do');
    // The format goes inside the call: given after it, MCollective ignores it (docs/reference/protocols.md §2.6).
    for (const aggregate of action.aggregate) {
      const format = aggregate.args[1]?.format;
      lines.push(`    aggregate ${MCOLLECTIVE_FUNCTION[aggregate.function]}(:${aggregate.args[0]}${format === undefined ? '' : `, :format => ${rubyString(format)}`})`);
    }
    lines.push('  end');
  }
  lines.push('end', '');
  return lines.join('\n');
}

function inputPairs(input: InputItem): Array<[string, string]> {
  const pairs: Array<[string, string]> = [
    ['prompt', rubyString(input.prompt)],
    ['description', rubyString(withRange(input))],
    ['type', `:${input.type}`],
  ];
  if (input.type === 'string') {
    // Named validators must be Symbols: the String 'shellsafe' is a regex matching that word.
    const named = (NAMED_VALIDATORS as readonly string[]).includes(input.validation ?? '');
    pairs.push(['validation', named ? `:${input.validation}` : rubyString(input.validation ?? '')]);
    pairs.push(['maxlength', String(input.maxlength)]);
  }
  if (input.type === 'list') pairs.push(['list', `[${(input.list ?? []).map(rubyString).join(', ')}]`]);
  pairs.push(['optional', String(input.optional)]);
  if (input.default !== undefined) pairs.push(['default', rubyValue(input.default)]);
  return pairs;
}

/**
 * MCollective keeps no bounds of its own (an input's other keys are dropped) and `mco plugin
 * doc` shows only the description: the range hvagent enforces goes there.
 */
function withRange(input: InputItem): string {
  const { minimum, maximum } = input;
  if (minimum === undefined && maximum === undefined) return input.description;
  const range = minimum !== undefined && maximum !== undefined ? `${minimum} to ${maximum}` : minimum !== undefined ? `at least ${minimum}` : `at most ${maximum}`;
  return `${input.description} (${range})`;
}

function outputPairs(output: OutputItem): Array<[string, string]> {
  const pairs: Array<[string, string]> = [
    ['description', rubyString(output.description)],
    ['display_as', rubyString(output.display_as)],
  ];
  if (output.type) pairs.push(['type', rubyString(output.type)]);
  pairs.push(['default', rubyValue(output.default ?? null)]);
  return pairs;
}
