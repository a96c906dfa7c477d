import { toJavaScriptRegex } from './regex.js';
import type { ActionDdl, InputItem } from './types.js';

// One JSON Schema per action, compiled ahead of time by ajv. The rules are the strictest
// common subset of MCollective 2.12 and Choria (docs/reference/protocols.md §4.3 and §5 item 10):
// undeclared inputs are refused, integers must be whole, floats accept integral numbers,
// booleans must be real booleans, lists are exact members. Defaults are filled by ajv
// (useDefaults) because neither server applies them.

/** The ajv options the validators are compiled with (build time, and tests). */
export const AJV_OPTIONS = { strict: true, allErrors: false, useDefaults: true, coerceTypes: false } as const;
export const AJV_FORMATS = ['ipv4', 'ipv6'] as const;

export const SHELLSAFE_PATTERN = '^(?:[^`$;|<>&]|&(?!&))*$';

export function schemaIdFor(agent: string, action: string): string {
  return `hv:ddl/${agent}/${action}`;
}

export function actionInputSchema(agent: string, action: ActionDdl): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [name, input] of Object.entries(action.input)) {
    properties[name] = inputSchema(input);
    if (!input.optional && input.default === undefined) required.push(name);
  }
  return {
    $id: schemaIdFor(agent, action.action),
    type: 'object',
    properties,
    required,
    additionalProperties: false,
  };
}

function inputSchema(input: InputItem): Record<string, unknown> {
  const schema: Record<string, unknown> = {};
  switch (input.type) {
    case 'string':
      schema.type = 'string';
      schema.maxLength = input.maxlength;
      if (input.validation === 'shellsafe') schema.pattern = SHELLSAFE_PATTERN;
      else if (input.validation === 'ipv4address') schema.format = 'ipv4';
      else if (input.validation === 'ipv6address') schema.format = 'ipv6';
      else if (input.validation) schema.pattern = toJavaScriptRegex(input.validation);
      break;
    case 'list':
      schema.type = 'string';
      schema.enum = input.list;
      break;
    case 'boolean':
      schema.type = 'boolean';
      break;
    case 'integer':
      schema.type = 'integer';
      break;
    case 'float':
    case 'number':
      schema.type = 'number';
      break;
  }
  if (input.minimum !== undefined) schema.minimum = input.minimum;
  if (input.maximum !== undefined) schema.maximum = input.maximum;
  if (input.default !== undefined) schema.default = input.default;
  return schema;
}
