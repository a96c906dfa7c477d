import generated from '../../build/generated.cjs';
import type { ValidateFunction } from 'ajv';
import type { ActionDdl, AgentDdl } from './types.js';

// The DDLs and their precompiled validators, embedded in the bundle at build time.

export const AGENT_DDLS: readonly AgentDdl[] = generated.ddls;

const byName = new Map(AGENT_DDLS.map((ddl) => [ddl.metadata.name, ddl]));

export function findAgent(name: string): AgentDdl | undefined {
  return byName.get(name);
}

export function findAction(agent: AgentDdl, action: string): ActionDdl | undefined {
  return agent.actions.find((candidate) => candidate.action === action);
}

export function inputValidator(agent: string, action: string): ValidateFunction {
  const validate = generated[`${agent}__${action}`];
  if (!validate) throw new Error(`No compiled validator for ${agent}#${action}: rebuild with npm run build`);
  return validate;
}

export const validateConfig: ValidateFunction = generated.config;

/** A pool drop-in file (src/config/schema.ts, poolFileSchema). */
export const validatePoolFile: ValidateFunction = generated.pool;

/** The template catalogue manifest (src/templates/manifest-schema.ts). */
export const validateCatalogue: ValidateFunction = generated.catalogue;
