import type { ActionHandler } from '../../core/action.js';
import { findTemplate } from '../../templates/index.js';
import { describeTemplate } from './describe.js';

export const info: ActionHandler = async ({ inputs, config, signal }) => {
  const template = await findTemplate(config, String(inputs.ref), signal, 'ref');
  return { ...describeTemplate(template, 'full'), ...(template.notes !== undefined && { notes: template.notes }) };
};
