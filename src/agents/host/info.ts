import type { ActionHandler } from '../contract.js';
import { readHostFacts } from '../../monitoring/host-facts.js';

export const info: ActionHandler = async ({ config, signal }) => {
  const facts = await readHostFacts({ uri: config.libvirt.uri, lxcUri: config.libvirt.lxc_uri, signal });
  return {
    hostname: facts.hostname,
    hypervisor: facts.hypervisor,
    cpu: facts.cpu,
    memory: facts.memory,
    numa: facts.numa,
    vm_classes: facts.vm_classes,
  };
};
