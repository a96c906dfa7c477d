import type { ActionHandler } from '../contract.js';
import { runVirshBatch, stdoutOrThrow } from '../../libvirt/index.js';
import { parseDomainXml } from '../../libvirt/parse/domain.js';
import { mustLocate } from '../../libvirt/domains/locate.js';
import { vmName } from './common.js';

export const info: ActionHandler = async (context) => {
  const vm = await mustLocate(context.config, vmName(context), context.signal);
  const [xml, dominfo] = await runVirshBatch([['dumpxml', vm.name], ['dominfo', vm.name]], { uri: vm.uri, signal: context.signal });
  const domain = parseDomainXml(stdoutOrThrow(xml!));
  const autostart = /^Autostart:\s*enable/m.test(stdoutOrThrow(dominfo!));
  const { filesystems, ...described } = domain;
  return {
    ...described,
    // A container's "disks" are its mounted directories.
    disks: vm.driver === 'lxc' ? filesystems.map((fs) => ({ target: fs.target, source: fs.source, format: 'dir', device: 'filesystem' })) : domain.disks,
    state: vm.state,
    autostart,
  };
};
