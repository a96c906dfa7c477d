// Disk-less, shut-off QEMU domains shaped like the ones hvagent defines, defined and
// undefined in bulk by one virsh process each (bench/vm-list.mjs P4, bench/rest.mjs P7).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const URI = 'qemu:///system';
const KERNEL = '/var/lib/hvagent/test-assets/vmlinuz';

export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ').slice(0, 200)} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

export const virsh = (args, options) => run('virsh', ['-c', URI, ...args], options);
/** Runs many virsh commands, one per line, in ONE virsh process reading them from stdin. */
export const virshScript = (lines) => virsh([], { input: `${lines.join('\n')}\n` });

export const domainsNamed = (prefix) =>
  virsh(['list', '--all', '--name'])
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name.startsWith(prefix));

/** A shut-off, disk-less machine shaped like the ones hvagent defines (src/vm/domain-xml.ts). */
export function domainXml(name, createdBy) {
  const rootPorts = Array.from({ length: 6 }, () => "    <controller type='pci' model='pcie-root-port'/>").join('\n');
  return `<domain type='qemu'>
  <name>${name}</name>
  <metadata><hv:vm xmlns:hv='https://hvagent.dev/xmlns/domain/1'><hv:vm_class>qemu</hv:vm_class><hv:created_by>${createdBy}</hv:created_by></hv:vm></metadata>
  <memory unit='MiB'>64</memory>
  <currentMemory unit='MiB'>64</currentMemory>
  <vcpu placement='static' current='1'>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>${KERNEL}</kernel><cmdline>console=ttyS0</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <controller type='pci' index='0' model='pcie-root'/>
${rootPorts}
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='virtio'/>
  </devices>
</domain>
`;
}

/** Defines names[from..to) from XML files written to `work`, in one virsh process. */
export function defineDomains(names, work, createdBy) {
  const lines = names.map((name) => {
    const file = join(work, `${name}.xml`);
    writeFileSync(file, domainXml(name, createdBy));
    return `define ${file}`;
  });
  if (lines.length > 0) virshScript(lines);
}

/** Undefines every domain whose name starts with prefix; true when none is left. */
export function undefineDomains(prefix) {
  const left = domainsNamed(prefix);
  if (left.length > 0) virshScript(left.map((name) => `undefine ${name}`));
  return domainsNamed(prefix).length === 0;
}
