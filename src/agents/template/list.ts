import type { ActionHandler } from '../contract.js';
import { listTemplates, readCatalogue } from '../../templates/index.js';
import { describeTemplate } from './describe.js';

export const list: ActionHandler = async ({ inputs, config, signal }) => {
  const wanted = String(inputs.type);
  const templates = (await listTemplates(config, signal)).filter((template) => wanted === 'any' || template.type === wanted);
  return {
    templates: templates.map((template) => describeTemplate(template, 'summary')),
    count: templates.length,
    catalogue: (await readCatalogue(config)).directory,
  };
};
