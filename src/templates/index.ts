// Templates: what a VM is provisioned from, named `type:name` (docs/TEMPLATES.md).
export { parseTemplateRef, templateRef, isTemplateType, TEMPLATE_TYPES, TEMPLATE_NAME_PATTERN, type TemplateType } from './ref.js';
export type { Template, ImageTemplate, ArchiveTemplate, PxeTemplate } from './types.js';
export { listTemplates, findTemplate, readCatalogue, type Catalogue } from './catalogue.js';
export { populateRootDirectory, type PopulateContext } from './populate.js';
export { writeFirstBoot, firstBootShell, firstBootJson, type FirstBoot } from './firstboot.js';
export { definePxeNetwork, pxeNetworkXml, pxeAddressing, type PxeNetworkOptions } from './pxe-network.js';
export { templateAcceptedBy } from './classes.js';
