import type { ErrorObject, ValidateFunction } from 'ajv';
import { HvError } from '../core/errors.js';
import { printable } from '../core/printable.js';
import { inputValidator } from './registry.js';
import type { ActionDdl, AgentDdl, InputItem } from './types.js';

/** The agent as validation needs it: its name, for the validator and the messages. */
type Named = Pick<AgentDdl, 'metadata'>;

export type Inputs = Record<string, string | number | boolean>;

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  list: 'a string',
  boolean: 'a boolean (true or false)',
  integer: 'an integer',
  float: 'a number',
  number: 'a number',
};

/**
 * Checks request data against the action's DDL and returns the inputs with defaults
 * applied. Nothing runs before this has passed.
 */
export function validateInputs(
  agent: Named,
  action: ActionDdl,
  data: unknown,
  validate: ValidateFunction = inputValidator(agent.metadata.name, action.action),
): Inputs {
  if (data === undefined || data === null) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new HvError('REQUEST_INVALID', `Request data must be an object, not ${describe(data)}`);
  }
  // Both MCollective and Choria clients add process_results; it is not an input.
  const inputs: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  delete inputs.process_results;

  for (const [name, value] of Object.entries(inputs)) {
    if (typeof value === 'string' && value.includes('\0') && name in action.input) {
      throw new HvError('INPUT_INVALID', `Input '${name}' may not contain NUL characters`, { input: name });
    }
  }
  if (!validate(inputs)) throw toInputError(agent, action, validate.errors?.[0], inputs);
  return inputs as Inputs;
}

function toInputError(agent: Named, action: ActionDdl, error: ErrorObject | undefined, inputs: Record<string, unknown>): HvError {
  const target = `${agent.metadata.name}#${action.action}`;
  if (!error) return new HvError('INPUT_INVALID', `Request data for ${target} is invalid`);
  if (error.keyword === 'additionalProperties') {
    const name = String(error.params.additionalProperty);
    const valid = Object.keys(action.input);
    const hint = valid.length > 0 ? `valid inputs are: ${valid.join(', ')}` : 'it takes no inputs';
    return new HvError('INPUT_UNDECLARED', `Input '${printable(name)}' is not declared for ${target}; ${hint}`, {
      input: printable(name),
    });
  }
  if (error.keyword === 'required') {
    const name = String(error.params.missingProperty);
    return new HvError('INPUT_REQUIRED', `Input '${name}' is required for ${target}`, { input: name });
  }
  const name = error.instancePath.slice(1);
  const input = action.input[name] as InputItem;
  const value = inputs[name];
  return new HvError('INPUT_INVALID', `Input '${name}' ${problemWith(error, input, value)}`, { input: name });
}

function problemWith(error: ErrorObject, input: InputItem, value: unknown): string {
  switch (error.keyword) {
    case 'type':
      return `must be ${TYPE_NAMES[input.type]}, not ${describe(value)}`;
    case 'maxLength':
      return `is longer than ${input.maxlength} characters`;
    case 'pattern':
      return input.validation === 'shellsafe'
        ? 'may not contain shell metacharacters (` $ ; | && > <)'
        : `does not match ${input.validation}`;
    case 'format':
      return input.validation === 'ipv4address' ? 'is not an IPv4 address' : 'is not an IPv6 address';
    case 'enum':
      return `must be one of ${input.list?.join(', ')}`;
    case 'minimum':
      return `must be at least ${input.minimum}`;
    case 'maximum':
      return `must be at most ${input.maximum}`;
    default:
      return error.message ?? 'is invalid';
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `a string`;
  return `${typeof value} ${JSON.stringify(value)}`;
}
