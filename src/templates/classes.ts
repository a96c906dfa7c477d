import { VM_CLASSES, type VmClassName } from '../model/vm-classes.js';
import type { TemplateType } from './ref.js';

/** The VM classes that can be provisioned from a template of this type. */
export function templateAcceptedBy(type: TemplateType): VmClassName[] {
  return Object.values(VM_CLASSES).filter((vmClass) => vmClass.templateTypes.includes(type)).map((vmClass) => vmClass.name);
}
