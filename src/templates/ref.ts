import { HvError } from '../core/errors.js';

// A template is named `type:name` (`image:debian12`, `lxc:busybox`, `pxe:centos6.2`,
// `iso:debian12-netinst`), or by its bare name where the type is understood: a VM class's
// default type in `vm create`, the one template of that name in the template actions
// (catalogue.ts, docs/TEMPLATES.md).

export const TEMPLATE_TYPES = ['image', 'lxc', 'tar', 'pxe', 'iso'] as const;
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

/** A template's name within its type: what a file name or a libvirt object may safely carry. */
export const TEMPLATE_NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,62}$';
const NAME = new RegExp(TEMPLATE_NAME_PATTERN);

export function isTemplateType(value: string): value is TemplateType {
  return (TEMPLATE_TYPES as readonly string[]).includes(value);
}

/** A reference as written: `type` is undefined for a bare name. */
export interface WrittenRef {
  type: TemplateType | undefined;
  name: string;
}

/** Splits `type:name` or a bare `name`; anything else is INPUT_INVALID naming the input it came from. */
export function parseTemplateRef(ref: string, input = 'template'): WrittenRef {
  const colon = ref.indexOf(':');
  const type = colon < 0 ? undefined : ref.slice(0, colon);
  const name = colon < 0 ? ref : ref.slice(colon + 1);
  if ((type !== undefined && !isTemplateType(type)) || !NAME.test(name)) {
    const shown = JSON.stringify(ref.length > 80 ? `${ref.slice(0, 80)}…` : ref);
    throw new HvError(
      'INPUT_INVALID',
      `Input '${input}': ${shown} is not a template reference [TYPE:]NAME (TYPE one of ${TEMPLATE_TYPES.join(', ')}; NAME lower-case letters, digits, '.', '_', '-', at most 63, starting with a letter or digit)`,
      { input },
    );
  }
  return { type, name };
}

export function templateRef(type: TemplateType, name: string): string {
  return `${type}:${name}`;
}
