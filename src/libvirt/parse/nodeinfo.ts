import { parseKeyValueLines, requireInteger, VirshParseError } from './key-value-lines.js';

/** `virsh nodeinfo`. libvirt's sockets figure is per NUMA cell, not host-wide. */
export interface NodeInfo {
  /** For QEMU this is the architecture (e.g. "x86_64"), not a marketing name. */
  readonly cpuModel: string;
  readonly cpus: number;
  readonly mhz: number;
  readonly socketsPerCell: number;
  readonly coresPerSocket: number;
  readonly threadsPerCore: number;
  readonly numaCells: number;
  readonly memoryKiB: number;
}

export function parseNodeInfo(text: string): NodeInfo {
  const fields = parseKeyValueLines(text);
  const cpuModel = fields.get('cpu model');
  if (!cpuModel) throw new VirshParseError('nodeinfo', 'missing "CPU model"', text);
  const int = (key: string, unit?: string): number => requireInteger(fields, key, 'nodeinfo', text, unit);
  return {
    cpuModel,
    cpus: int('cpu(s)'),
    mhz: int('cpu frequency', 'MHz'),
    socketsPerCell: int('cpu socket(s)'),
    coresPerSocket: int('core(s) per socket'),
    threadsPerCore: int('thread(s) per core'),
    numaCells: int('numa cell(s)'),
    memoryKiB: int('memory size', 'KiB'),
  };
}
