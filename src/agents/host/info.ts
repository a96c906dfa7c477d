import type { ReplyData } from '../../core/reply.js';
import type { ActionContext, ActionHandler, WarmContext } from '../contract.js';
import { keptHostFacts, readHostFacts, type HostFacts } from '../../monitoring/host-facts.js';

const outputs = (facts: HostFacts): ReplyData => ({
  hostname: facts.hostname,
  hypervisor: facts.hypervisor,
  cpu: facts.cpu,
  memory: facts.memory,
  numa: facts.numa,
  vm_classes: facts.vm_classes,
});

const run = async ({ config, signal }: ActionContext): Promise<ReplyData> => outputs(await readHostFacts({ uri: config.libvirt.uri, lxcUri: config.libvirt.lxc_uri, signal }));

/** In the server, once the facts are kept: at once, free memory read from /proc and /sys. */
const readWarm = ({ config }: WarmContext): ReplyData | undefined => {
  const facts = keptHostFacts({ uri: config.libvirt.uri, lxcUri: config.libvirt.lxc_uri });
  return facts && outputs(facts);
};

export const info: ActionHandler = Object.assign(run, { readWarm });
