import type { ActionHandler } from '../contract.js';
import { listTemplates } from '../../templates/index.js';
import { describeTemplate } from './describe.js';

export const list: ActionHandler = async ({ inputs, config, signal }) => {
  const wanted = String(inputs.type);
  const listing = await listTemplates(config, signal);
  const templates = listing.templates.filter((template) => wanted === 'any' || template.type === wanted);
  return {
    templates: templates.map((template) => describeTemplate(template, 'summary')),
    count: templates.length,
    catalogue: listing.directory,
    // Every unusable entry, whatever the type asked for: each is a problem of the catalogue to fix.
    unusable: listing.unusable.map(({ index, ref, problem }) => ({ entry: `templates[${index}]`, ref, problem })),
  };
};
