import { templateAcceptedBy, type Template } from '../../templates/index.js';

/** A template as the template agent shows it: snake_case, only what is known. */
export function describeTemplate(template: Template, detail: 'summary' | 'full'): Record<string, unknown> {
  const common = {
    ref: template.ref,
    name: template.name,
    type: template.type,
    description: template.description,
    ...(template.os !== undefined && { os: template.os }),
    accepted_by: templateAcceptedBy(template.type),
    ...(detail === 'full' && template.sha256 !== undefined && { sha256: template.sha256 }),
  };
  switch (template.type) {
    case 'image':
      return {
        ...common,
        format: template.format,
        virtual_size_mb: template.virtualSizeMb,
        file_bytes: template.fileBytes,
        ...(detail === 'full' && { files: { path: template.path } }),
      };
    case 'lxc':
    case 'tar':
      return {
        ...common,
        file_bytes: template.fileBytes,
        ...(detail === 'full' && { files: { archive: template.archive, ...(template.overlay && { overlay: template.overlay }) } }),
      };
    case 'iso':
      return { ...common, file_bytes: template.fileBytes, ...(detail === 'full' && { files: { path: template.path } }) };
    case 'pxe':
      return {
        ...common,
        network: template.network,
        ...(detail === 'full' && {
          boot_file: template.bootFile,
          files: { tftp_root: template.tftpRoot },
          ...(template.address && { address: template.address }),
        }),
      };
  }
}
