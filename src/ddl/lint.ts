import { ASYNC_INPUT, JOB_ID_OUTPUT } from './async.js';
import { RESERVED_ACTION_NAMES } from './reserved-names.js';
import { routeProblems } from './routes.js';
import { portableRegexProblem, toJavaScriptRegex } from './regex.js';
import {
  AGGREGATE_FUNCTIONS,
  INPUT_TYPES,
  NAMED_VALIDATORS,
  OUTPUT_TYPES,
  type ActionDdl,
  type AgentDdl,
  type AggregateFunction,
  type AggregateItem,
  type InputItem,
} from './types.js';

// The rules a DDL must follow so that ONE file works unchanged in MCollective 2.12 and
// Choria (docs/reference/protocols.md §5, items 9-10 and 22-27). A DDL that breaks one is refused at
// build time, before anything is generated from it.

const SHORTNAME = /^[a-z][a-z0-9_]*$/;
const SEMVER = /^\d+\.\d+\.\d+$/;
const METADATA_KEYS = ['name', 'description', 'author', 'license', 'version', 'url'] as const;
/** Keys hvagent adds to every reply; an action may not declare them itself. */
export const RESERVED_OUTPUTS = ['error_code', 'error_details', JOB_ID_OUTPUT];
/** Choria's agent DDL schema describes the output map as if it were one output, so these names fail it. */
const CHORIA_SCHEMA_OUTPUT_NAMES = ['description', 'default', 'display_as', 'type'];
const RESERVED_INPUTS = ['process_results', ASYNC_INPUT];

export function lintAgentDdl(ddl: AgentDdl, source = ddl.metadata?.name ?? '?'): string[] {
  const problems: string[] = [];
  const report = (where: string, what: string) => problems.push(`${source}: ${where}: ${what}`);
  const meta = ddl.metadata;
  if (!meta) return [`${source}: metadata is missing`];

  for (const key of METADATA_KEYS) {
    if (typeof meta[key] !== 'string' || meta[key] === '') report('metadata', `${key} must be a non-empty string`);
  }
  if (!SHORTNAME.test(meta.name ?? '')) report('metadata', `name "${meta.name}" must match ${SHORTNAME}`);
  if (!SEMVER.test(meta.version ?? '')) report('metadata', `version "${meta.version}" must be MAJOR.MINOR.PATCH`);
  if (!Number.isInteger(meta.timeout) || meta.timeout < 5) {
    report('metadata', 'timeout must be an integer of at least 5 seconds (hvagent keeps its own deadline below it)');
  }
  if (meta.provider !== 'external') report('metadata', 'provider must be "external" (Choria loads nothing else)');
  if (!Array.isArray(ddl.actions) || ddl.actions.length === 0) report('actions', 'at least one action is needed');

  const seen = new Set<string>();
  for (const action of ddl.actions ?? []) {
    const where = `action ${action.action}`;
    if (seen.has(action.action)) report(where, 'is declared twice');
    seen.add(action.action);
    lintAction(action, (what) => report(where, what));
  }
  return problems;
}

function lintAction(action: ActionDdl, report: (what: string) => void): void {
  if (!SHORTNAME.test(action.action ?? '')) report(`name must match ${SHORTNAME}`);
  if (RESERVED_ACTION_NAMES.has(action.action)) {
    report('name collides with a method of MCollective RPC::Client, Object or Kernel: `mco rpc` would call that instead');
  }
  if (!action.description) report('description is required');
  if (!['ok', 'failed', 'always'].includes(action.display)) report('display must be ok, failed or always');
  if (typeof action.input !== 'object' || action.input === null) report('input must be a map (may be empty)');
  if (typeof action.output !== 'object' || action.output === null) report('output must be a map (may be empty)');

  for (const [name, input] of Object.entries(action.input ?? {})) {
    lintInput(input, (what) => report(`input ${name}: ${what}`));
    if (!SHORTNAME.test(name)) report(`input ${name}: name must match ${SHORTNAME}`);
    if (RESERVED_INPUTS.includes(name)) {
      report(`input ${name}: name is reserved ${name === ASYNC_INPUT ? 'by hvagent (it adds async to every mutating action)' : 'by MCollective'}`);
    }
  }
  for (const [name, output] of Object.entries(action.output ?? {})) {
    if (!SHORTNAME.test(name)) report(`output ${name}: name must match ${SHORTNAME}`);
    if (RESERVED_OUTPUTS.includes(name)) report(`output ${name}: name is reserved by hvagent`);
    if (CHORIA_SCHEMA_OUTPUT_NAMES.includes(name)) report(`output ${name}: Choria's DDL schema refuses this output name`);
    if (!output.description) report(`output ${name}: description is required`);
    if (!output.display_as) report(`output ${name}: display_as is required`);
    if (output.type !== undefined && !OUTPUT_TYPES.includes(output.type)) {
      report(`output ${name}: type must be one of ${OUTPUT_TYPES.join(', ')}`);
    }
  }
  for (const aggregate of action.aggregate ?? []) lintAggregate(aggregate, action, report);
  for (const problem of routeProblems(action)) report(problem);
  if (action.table !== undefined) lintTable(action, report);
}

const TABLE_HEADER = /^[ -~]{1,24}$/;

function lintTable(action: ActionDdl, report: (what: string) => void): void {
  const table = action.table as unknown as Record<string, unknown>;
  const columns = table?.columns as Record<string, unknown> | undefined;
  if (typeof table !== 'object' || table === null || Object.keys(table).some((key) => key !== 'rows' && key !== 'columns')) {
    report('table: must be { rows, columns }');
    return;
  }
  if (typeof table.rows !== 'string' || action.output?.[table.rows]?.type !== 'array') report('table: rows must name a declared output of type array');
  if (typeof columns !== 'object' || columns === null || Array.isArray(columns) || Object.keys(columns).length === 0) {
    report('table: columns must map each field of a row to its header');
    return;
  }
  for (const [field, header] of Object.entries(columns)) {
    if (!SHORTNAME.test(field)) report(`table: column ${field} must match ${SHORTNAME}`);
    if (typeof header !== 'string' || !TABLE_HEADER.test(header)) report(`table: header of ${field} must be 1-24 printable ASCII characters`);
  }
}

/** summary's format takes the value and its count; average's and sum's one number. */
const FORMAT_CONVERSIONS: Record<AggregateFunction, number> = { summary: 2, average: 1, sum: 1 };
const PRINTF_CONVERSION = /%[-+ #0]*\d*(?:\.\d+)?[sdif]/g;

function lintAggregate(aggregate: AggregateItem, action: ActionDdl, report: (what: string) => void): void {
  const where = `aggregate ${aggregate.function}`;
  if (!(AGGREGATE_FUNCTIONS as readonly string[]).includes(aggregate.function)) {
    report(`${where}: use ${AGGREGATE_FUNCTIONS.join(', ')} (sum is shown by MCollective only)`);
    return;
  }
  const [output, options, ...rest] = aggregate.args ?? [];
  if (typeof output !== 'string' || !(output in (action.output ?? {}))) report(`${where}: first argument must name a declared output`);
  else if (aggregate.function !== 'summary' && !['integer', 'float', 'number'].includes(action.output[output]?.type ?? '')) {
    report(`${where}: ${output} must be declared integer, float or number (MCollective adds its values)`);
  }
  if (rest.length > 0) report(`${where}: takes an output and at most { format }`);
  if (options === undefined) return;
  const keys = typeof options === 'object' && options !== null ? Object.keys(options) : [];
  if (keys.length !== 1 || keys[0] !== 'format' || typeof options.format !== 'string') {
    report(`${where}: the second argument may only be { format: "<printf>" }`);
    return;
  }
  const withoutPercentSigns = options.format.replaceAll('%%', '');
  const conversions = withoutPercentSigns.match(PRINTF_CONVERSION)?.length ?? 0;
  const stray = withoutPercentSigns.replace(PRINTF_CONVERSION, '').includes('%');
  if (stray || conversions !== FORMAT_CONVERSIONS[aggregate.function] || !/^[ -~]{1,80}$/.test(options.format)) {
    report(`${where}: format ${JSON.stringify(options.format)} must be printable ASCII with exactly ${FORMAT_CONVERSIONS[aggregate.function]} of %s %d %i %f (%% for a percent sign)`);
  }
}

function lintInput(input: InputItem, report: (what: string) => void): void {
  if (!input.prompt) report('prompt is required');
  if (!input.description) report('description is required');
  if (typeof input.optional !== 'boolean') report('optional must be true or false');
  if (!INPUT_TYPES.includes(input.type)) {
    report(`type must be one of ${INPUT_TYPES.join(', ')} (hash and array do not work in MCollective 2.12)`);
    return;
  }
  const numeric = input.type === 'integer' || input.type === 'float' || input.type === 'number';
  if (!numeric && (input.minimum !== undefined || input.maximum !== undefined)) report('minimum/maximum apply to numbers only');
  if (input.type === 'string') {
    if (!Number.isInteger(input.maxlength) || (input.maxlength ?? 0) < 1) {
      report('a string needs a maxlength of at least 1 (at 0 Choria skips length and validation)');
    }
    if (typeof input.validation !== 'string') report('a string needs a validation');
    else if (!(NAMED_VALIDATORS as readonly string[]).includes(input.validation)) {
      const problem = portableRegexProblem(input.validation);
      if (problem) report(`validation ${input.validation} ${problem}`);
    }
  } else if (input.validation !== undefined || input.maxlength !== undefined) {
    report('validation and maxlength apply to strings only');
  }
  if (input.type === 'list') {
    if (!Array.isArray(input.list) || input.list.length === 0 || input.list.some((item) => typeof item !== 'string')) {
      report('a list needs a non-empty list of string values');
    }
  } else if (input.list !== undefined) report('list applies to the list type only');
  if (input.default !== undefined) {
    const problem = defaultProblem(input);
    if (problem) report(`default ${JSON.stringify(input.default)} ${problem}`);
  }
}

function defaultProblem(input: InputItem): string | undefined {
  const value = input.default;
  switch (input.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'is not a boolean';
    case 'integer':
      return Number.isInteger(value) ? undefined : 'is not an integer';
    case 'float':
    case 'number':
      return typeof value === 'number' ? undefined : 'is not a number';
    case 'list':
      return input.list?.includes(value as string) ? undefined : 'is not one of the listed values';
    case 'string': {
      if (typeof value !== 'string') return 'is not a string';
      if (input.validation && !(NAMED_VALIDATORS as readonly string[]).includes(input.validation)) {
        if (!new RegExp(toJavaScriptRegex(input.validation), 'u').test(value)) return 'does not pass its own validation';
      }
      return undefined;
    }
  }
}
