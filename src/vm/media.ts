import type { Located } from '../libvirt/domains/locate.js';
import { parseDomainXml, type DomainDescription } from '../libvirt/parse/domain.js';
import { runVirshBatch, stdoutOrThrow, virsh } from '../libvirt/virsh.js';

// Removable media: once an installer has put a system on the disk, the operator ejects
// the ISO so that the VM boots from the disk (its boot order is CD-ROM, then disk, and an
// empty drive is skipped). A running VM's drive is emptied live and in its definition; a
// shut-off VM's in its definition. Drives that hold nothing are left alone.

/** The targets (sda, …) of CD-ROM drives holding a medium. */
function loaded(domain: DomainDescription): string[] {
  return domain.disks.filter((disk) => disk.device === 'cdrom' && disk.source !== null).map((disk) => disk.target);
}

/** Ejects every CD-ROM medium; returns whether any was ejected, and whether live. */
export async function ejectCdroms(vm: Located, defined: DomainDescription, signal: AbortSignal): Promise<{ ejected: boolean; live: boolean }> {
  const running = vm.state === 'running' || vm.state === 'paused';
  const inDefinition = loaded(defined);
  const inGuest = running ? loaded(parseDomainXml(await virsh(vm.uri, ['dumpxml', vm.name], signal))) : [];
  const commands = [
    ...inGuest.map((target) => ['change-media', vm.name, target, '--eject', '--live']),
    ...inDefinition.map((target) => ['change-media', vm.name, target, '--eject', '--config']),
  ];
  if (commands.length === 0) return { ejected: false, live: false };
  for (const result of await runVirshBatch(commands, { uri: vm.uri, signal })) stdoutOrThrow(result);
  return { ejected: true, live: inGuest.length > 0 };
}
