import { MCOLLECTIVE_ONLY_AGGREGATES, type ActionDdl, type AgentDdl, type AggregateItem, type InputItem } from '../types.js';

export const CHORIA_DDL_SCHEMA = 'https://choria.io/schemas/mcorpc/ddl/v1/agent.json';

/** `agent/<agent>.json`: Choria's JSON DDL for an external agent (docs/reference/protocols.md §3.10). */
export function choriaJsonDdl(ddl: AgentDdl): string {
  const document = {
    $schema: CHORIA_DDL_SCHEMA,
    metadata: { ...ddl.metadata },
    actions: ddl.actions.map(choriaAction),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function choriaAction(action: ActionDdl) {
  return {
    action: action.action,
    description: action.description,
    display: action.display,
    input: Object.fromEntries(Object.entries(action.input).map(([name, input]) => [name, choriaInput(input)])),
    output: action.output,
    ...(action.aggregate && { aggregate: choriaAggregates(action.aggregate) }),
  };
}

/**
 * Choria skips functions it does not know (sum), and its schema types aggregate args as
 * strings: MCollective-only functions and printf formats stay out of the JSON.
 */
function choriaAggregates(aggregates: AggregateItem[]) {
  return aggregates
    .filter((aggregate) => !MCOLLECTIVE_ONLY_AGGREGATES.includes(aggregate.function))
    .map((aggregate) => ({ function: aggregate.function, args: [aggregate.args[0]] }));
}

/** hvagent-only keys (numeric bounds, secret) stay out: Choria does not know them. */
function choriaInput(input: InputItem) {
  const { minimum: _minimum, maximum: _maximum, secret: _secret, ...choria } = input;
  return choria;
}
