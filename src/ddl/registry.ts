import type { ValidateFunction } from 'ajv';
import generated from '../../build/generated/index.cjs';
import type { ActionDdl, AgentDdl, AgentMetadata } from './types.js';

// The DDLs and their precompiled validators (src/build/compile-ddl.ts). Each agent's DDL and
// validators are loaded the first time a request names that agent: a request pays for its
// own agent only, and a request for an unknown agent for none. Within the agent, an action's
// DDL is parsed when first asked for: a request builds its own action's alone.

/** An agent as a request sees it: its metadata, its actions' names, and one action's DDL. */
export interface AgentEntry {
  readonly metadata: AgentMetadata;
  readonly actionNames: readonly string[];
  action(name: string): ActionDdl | undefined;
}

interface LoadedAgent extends AgentEntry {
  /** Every action's DDL: each parsed on first use. */
  readonly ddl: AgentDdl;
  readonly validators: Record<string, ValidateFunction>;
}

/** The agents this build offers, in the DDL directory's order. */
export const AGENT_NAMES: readonly string[] = generated.agentNames;

const loaded = new Map<string, LoadedAgent>();

function load(name: string): LoadedAgent | undefined {
  if (!Object.hasOwn(generated.loadAgent, name)) return undefined;
  let agent = loaded.get(name);
  if (!agent) loaded.set(name, (agent = generated.loadAgent[name]!()));
  return agent;
}

/** The whole DDL of an agent, every action parsed (help); a request asks agentEntry. */
export function findAgent(name: string): AgentDdl | undefined {
  return load(name)?.ddl;
}

export function agentEntry(name: string): AgentEntry | undefined {
  return load(name);
}

/** Every agent's DDL: for help, install, generators; never on a request's path. */
export function allAgentDdls(): AgentDdl[] {
  return AGENT_NAMES.map((name) => load(name)!.ddl);
}

export function inputValidator(agent: string, action: string): ValidateFunction {
  const validate = load(agent)?.validators[action];
  if (!validate) throw new Error(`No compiled validator for ${agent}#${action}: rebuild with npm run build`);
  return validate;
}

let config: ValidateFunction | undefined;
/** The validator of hvagent.yaml (src/config/schema.ts). */
export function configValidator(): ValidateFunction {
  return (config ??= generated.loadConfigValidator());
}

let poolFile: ValidateFunction | undefined;
/** The validator of a pool drop-in file (src/config/schema.ts, poolFileSchema). */
export function poolFileValidator(): ValidateFunction {
  return (poolFile ??= generated.loadPoolValidator());
}

let catalogue: ValidateFunction | undefined;
/** The validator of the template catalogue manifest (src/templates/manifest-schema.ts). */
export function catalogueValidator(): ValidateFunction {
  return (catalogue ??= generated.loadCatalogueValidator());
}
