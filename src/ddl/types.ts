// The agent DDL in Choria's shape (docs/reference/protocols.md §3.10), restricted to what both
// MCollective 2.12 and Choria accept (checklist items 22-27; enforced by lint.ts).

export const INPUT_TYPES = ['string', 'list', 'boolean', 'integer', 'float', 'number'] as const;
export type InputType = (typeof INPUT_TYPES)[number];

export const OUTPUT_TYPES = ['string', 'list', 'boolean', 'integer', 'float', 'number', 'hash', 'array'] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

export const NAMED_VALIDATORS = ['shellsafe', 'ipv4address', 'ipv6address'] as const;
export type NamedValidator = (typeof NAMED_VALIDATORS)[number];

export type Scalar = string | number | boolean;

export interface InputItem {
  prompt: string;
  description: string;
  type: InputType;
  optional: boolean;
  default?: Scalar;
  /** string: a named validator or a regex written `\A…\z` */
  validation?: string;
  /** string: maximum length, never 0 (Choria skips validation at 0) */
  maxlength?: number;
  /** list: the allowed values */
  list?: string[];
  /** integer/float/number: inclusive bounds, enforced by hvagent only */
  minimum?: number;
  maximum?: number;
}

export interface OutputItem {
  description: string;
  display_as: string;
  type?: OutputType;
  default?: unknown;
}

/**
 * summary and average work in both systems; sum only in MCollective (Choria skips it, so
 * the Choria JSON leaves it out). The format is MCollective's printf, given inside the
 * call (docs/reference/protocols.md §2.6); Choria's schema types args as strings, so its JSON drops it.
 */
export const AGGREGATE_FUNCTIONS = ['summary', 'average', 'sum'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];
export const MCOLLECTIVE_ONLY_AGGREGATES: readonly AggregateFunction[] = ['sum'];

export interface AggregateItem {
  function: AggregateFunction;
  args: [string] | [string, { format: string }];
}

export type Display = 'ok' | 'failed' | 'always';

/**
 * hvagent's own key (the MCollective and Choria generators leave it out): how the command
 * line prints a list action as a table, one row per entry of the `rows` output, one column
 * per field of each entry, under its header, in this order.
 */
export interface TableHint {
  rows: string;
  columns: Record<string, string>;
}

export interface ActionDdl {
  action: string;
  description: string;
  display: Display;
  input: Record<string, InputItem>;
  output: Record<string, OutputItem>;
  aggregate?: AggregateItem[];
  /** Mutating actions take the per-object lock and report `changed`. */
  mutating?: boolean;
  /**
   * hvagent-only (never in the Choria or MCollective DDL): the REST resource route(s) of the
   * action besides `POST /v1/<agent>/<action>`, as `METHOD /path/{input}` under /v1
   * (src/ddl/routes.ts).
   */
  http?: string | string[];
  table?: TableHint;
}

export interface AgentMetadata {
  name: string;
  description: string;
  author: string;
  license: string;
  version: string;
  url: string;
  timeout: number;
  provider: 'external';
}

export interface AgentDdl {
  metadata: AgentMetadata;
  actions: ActionDdl[];
}
