import { routeSpecs } from '../routes.js';
import { MCOLLECTIVE_ONLY_AGGREGATES, type ActionDdl, type AgentDdl, type InputItem } from '../types.js';

/** `docs/agents/<agent>.md`: the reference a person reads, from the same source as the code. */
export function markdownReference(ddl: AgentDdl, source: string): string {
  const meta = ddl.metadata;
  const parts = [
    `<!-- Generated from ${source} by hvagent. Do not edit: change the YAML and run npm run generate. -->`,
    `# Agent \`${meta.name}\``,
    '',
    meta.description,
    '',
    `Version ${meta.version} · timeout ${meta.timeout} s (hvagent answers with DEADLINE_EXCEEDED before that) · ${meta.license}`,
    '',
    '| action | description |',
    '| --- | --- |',
    ...ddl.actions.map((action) => `| [\`${action.action}\`](#${action.action}) | ${cell(action.description)} |`),
    '',
  ];
  for (const action of ddl.actions) parts.push(...actionSection(meta.name, action));
  return `${parts.join('\n').trimEnd()}\n`;
}

function actionSection(agent: string, action: ActionDdl): string[] {
  const inputs = Object.entries(action.input);
  const lines = [`## ${action.action}`, '', action.description, ''];
  if (action.mutating) lines.push('Changes state: takes the object lock and reports `changed`; `async=true` runs it as an operation of `hvagent serve` and replies at once with its `job_id`.', '');
  const routes = [...routeSpecs(action).map((spec) => spec.replace(' ', ' /v1')), `POST /v1/${agent}/${action.action}`];
  lines.push(`REST (\`hvagent serve\`, [REST.md](../REST.md)): ${routes.map((route) => `\`${route}\``).join(' · ')}`, '');
  if (inputs.length === 0) lines.push('Takes no inputs.', '');
  else {
    lines.push('| input | type | required | default | validation | description |', '| --- | --- | --- | --- | --- | --- |');
    for (const [name, input] of inputs) {
      const fallback = input.default === undefined ? '' : `\`${JSON.stringify(input.default)}\``;
      lines.push(`| \`${name}\` | ${input.type} | ${input.optional ? 'no' : 'yes'} | ${fallback} | ${cell(rule(input))} | ${cell(input.description)} |`);
    }
    lines.push('');
  }
  lines.push('| output | type | description |', '| --- | --- | --- |');
  for (const [name, output] of Object.entries(action.output)) {
    lines.push(`| \`${name}\` | ${output.type ?? ''} | ${cell(output.description)} |`);
  }
  lines.push('');
  if (action.aggregate?.length) {
    const described = action.aggregate.map((a) => `${a.function} of \`${a.args[0]}\`${MCOLLECTIVE_ONLY_AGGREGATES.includes(a.function) ? ' (MCollective only)' : ''}`);
    lines.push(`Fleet summaries (\`mco rpc\`): ${described.join(', ')}.`, '');
    if (action.aggregate.some((a) => MCOLLECTIVE_ONLY_AGGREGATES.includes(a.function))) {
      lines.push('Choria has no `sum` aggregate: its JSON DDL leaves the sums out (use `--json` and add the values up).', '');
    }
  }
  const example = inputs
    .filter(([, input]) => !input.optional)
    .map(([name, input]) => `${name}=${exampleValue(input)}`)
    .join(' ');
  const data = Object.fromEntries(inputs.filter(([, i]) => !i.optional).map(([n, i]) => [n, exampleJson(i)]));
  lines.push(
    '```sh',
    `mco rpc ${agent} ${action.action} ${example}`.trimEnd(),
    `hvagent ${agent} ${action.action} ${example}`.trimEnd(),
    `echo '${JSON.stringify({ agent, action: action.action, data })}' | hvagent rpc`,
    '```',
    '',
  );
  return lines;
}

function rule(input: InputItem): string {
  const parts: string[] = [];
  if (input.validation) parts.push(`\`${input.validation}\``);
  if (input.maxlength) parts.push(`≤ ${input.maxlength} chars`);
  if (input.list) parts.push(input.list.map((item) => `\`${item}\``).join(', '));
  if (input.minimum !== undefined) parts.push(`≥ ${input.minimum}`);
  if (input.maximum !== undefined) parts.push(`≤ ${input.maximum}`);
  return parts.join('; ');
}

function exampleValue(input: InputItem): string {
  return String(exampleJson(input));
}

function exampleJson(input: InputItem): string | number | boolean {
  if (input.default !== undefined) return input.default;
  switch (input.type) {
    case 'boolean':
      return true;
    case 'integer':
    case 'float':
    case 'number':
      return input.minimum ?? 1;
    case 'list':
      return input.list?.[0] ?? '';
    default:
      return input.prompt.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  }
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}
