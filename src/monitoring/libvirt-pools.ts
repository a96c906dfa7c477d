import { parseKeyValueLines } from '../libvirt/parse/key-value-lines.js';
import { runVirshBatch, type VirshCommand } from '../libvirt/index.js';

// libvirt's storage pools: names come with the first batch (`pool-list --all --name`),
// their sizes from one more batch of `pool-info --bytes`, run only when pools exist.
// libvirt reports the sizes as of the pool's last refresh; hvagent does not refresh
// (that rescans every volume), so a busy pool's figures may lag.

export interface LibvirtPoolUsage {
  readonly name: string;
  /** running, inactive, building, degraded or inaccessible. */
  readonly state: string;
  /** null while the pool is not running (libvirt knows no size then). */
  readonly capacity_mb: number | null;
  readonly allocation_mb: number | null;
  readonly available_mb: number | null;
}

export const POOL_NAMES_COMMAND: VirshCommand = ['pool-list', '--all', '--name'];

export function parsePoolNames(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter(Boolean);
}

export function parsePoolInfo(name: string, text: string): LibvirtPoolUsage {
  const fields = parseKeyValueLines(text);
  const mb = (key: string) => {
    const bytes = fields.get(key);
    return bytes !== undefined && /^\d+$/.test(bytes) ? Math.floor(Number(bytes) / 1048576) : null;
  };
  return { name, state: fields.get('state') ?? 'unknown', capacity_mb: mb('capacity'), allocation_mb: mb('allocation'), available_mb: mb('available') };
}

export async function readLibvirtPools(uri: string, names: readonly string[], signal?: AbortSignal): Promise<LibvirtPoolUsage[]> {
  const results = await runVirshBatch(names.map((name) => ['pool-info', '--bytes', name]), { uri, ...(signal && { signal }) });
  // A pool undefined between the two batches is simply not reported.
  return results.flatMap((result, i) => (result.error ? [] : [parsePoolInfo(names[i]!, result.stdout)]));
}
