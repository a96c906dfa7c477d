import type { ActionHandler } from '../contract.js';
import { findTemplate } from '../../templates/index.js';
import { describeTemplate } from './describe.js';

export const info: ActionHandler = async ({ inputs, config, signal }) => {
  const template = await findTemplate(config, String(inputs.ref), signal, 'ref');
  const { type, description, ...rest } = describeTemplate(template, 'full');
  // Choria's DDL schema refuses outputs named type and description (ddl/template.yaml).
  return { ...rest, template_type: type, about: description, ...(template.notes !== undefined && { notes: template.notes }) };
};
