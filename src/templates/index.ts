// Templates: what a VM is provisioned from, named `type:name` (docs/TEMPLATES.md).
export { parseTemplateRef, templateRef, isTemplateType, TEMPLATE_TYPES, TEMPLATE_NAME_PATTERN, type TemplateType } from './ref.js';
export type { Template, ImageTemplate, ArchiveTemplate, PxeTemplate, IsoTemplate } from './types.js';
export { listTemplates, findTemplate, readCatalogue, type Catalogue } from './catalogue.js';
export { templateForUse } from './first-use.js';
// Import, delete and prune are loaded by the actions that run them (templates/import/import.ts,
// delete.ts, prune.ts): a provision does not pay for their streams, zlib and HTTP client.
export { shareTemplateFiles } from './prune.js';
export { templateFilesExist } from './types.js';
export { populateRootDirectory, type PopulateContext } from './populate.js';
export { writeFirstBoot, firstBootShell, firstBootJson, type FirstBoot } from './firstboot.js';
export { definePxeNetwork, pxeNetworkXml, pxeAddressing, type PxeNetworkOptions } from './pxe-network.js';
export { templateAcceptedBy } from './classes.js';
