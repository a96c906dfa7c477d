import type { ActionHandler } from '../contract.js';
import type { ImportFormat } from '../../templates/import/expect.js';
import { importTemplate } from '../../templates/import/import.js';
import { describeTemplate } from './describe.js';

export const importAction: ActionHandler = async ({ inputs, config, signal, deadline, progress }) => {
  const text = (input: string) => (inputs[input] === undefined ? undefined : String(inputs[input]));
  const optional = <K extends string>(key: K, value: string | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, string>));
  const imported = await importTemplate(
    config,
    {
      ref: String(inputs.ref),
      source: String(inputs.source),
      format: String(inputs.format) as ImportFormat,
      replace: inputs.replace === true,
      ...optional('sha256', text('sha256')),
      ...optional('description', text('description')),
      ...optional('os', text('os')),
    },
    { signal, deadline, progress },
  );
  const described = describeTemplate(imported.template, 'full');
  return {
    ref: imported.template.ref,
    changed: imported.changed,
    replaced: imported.replaced,
    template_type: imported.template.type,
    format: described.format ?? null,
    file: (described.files as { path?: string; archive?: string }).path ?? (described.files as { archive?: string }).archive ?? null,
    file_bytes: described.file_bytes ?? null,
    virtual_size_mb: described.virtual_size_mb ?? null,
    sha256: imported.sha256 ?? null,
    bytes_received: imported.bytesReceived,
    removed_files: imported.removed,
    kept_files: imported.kept,
  };
};
