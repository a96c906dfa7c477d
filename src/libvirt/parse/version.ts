import { parseKeyValueLines, VirshParseError } from './key-value-lines.js';

/** `virsh version`. */
export interface VersionInfo {
  /** libvirt library the client uses, e.g. "9.0.0". */
  readonly libraryVersion: string;
  /** Driver name and version of the API, e.g. { name: "QEMU", version: "9.0.0" }. */
  readonly api: { readonly name: string; readonly version: string };
  /**
   * The running hypervisor, e.g. { name: "QEMU", version: "7.2.22" }. Absent when the
   * driver does not report one (virsh then prints no "Running hypervisor" line).
   */
  readonly hypervisor?: { readonly name: string; readonly version: string };
}

export function parseVersion(text: string): VersionInfo {
  const fields = parseKeyValueLines(text);
  const library = nameAndVersion(fields.get('using library'));
  const api = nameAndVersion(fields.get('using api'));
  if (!library || library.name !== 'libvirt') throw new VirshParseError('version', 'missing "Using library: libvirt X"', text);
  if (!api) throw new VirshParseError('version', 'missing "Using API"', text);
  const hypervisor = nameAndVersion(fields.get('running hypervisor'));
  return { libraryVersion: library.version, api, ...(hypervisor ? { hypervisor } : {}) };
}

/** "QEMU 7.2.22" -> { name: "QEMU", version: "7.2.22" }; the name may contain spaces. */
function nameAndVersion(value: string | undefined): { name: string; version: string } | undefined {
  const match = value === undefined ? null : /^(.+?)\s+(\d+(?:\.\d+)*)$/.exec(value);
  return match ? { name: match[1]!, version: match[2]! } : undefined;
}
