import type { Located } from '../libvirt/domains/locate.js';
import type { VmState } from '../libvirt/domains/states.js';

/** What a change to a VM did: the VM it acted on, whether anything changed, and its state afterwards. */
export interface VmChange {
  readonly vm: Located;
  readonly changed: boolean;
  readonly state: VmState;
}
