import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { agentEntry } from '../ddl/registry.js';

/**
 * An agent is offered on a host that has the hypervisor tools and has not disabled it.
 * Cheap on purpose: Choria allows 2 s and must not wait on libvirtd here.
 */
export async function isActivated(agent: string, env = process.env): Promise<boolean> {
  if (!agentEntry(agent)) return false;
  if (!onPath('virsh', env.PATH ?? '')) return false;
  try {
    // The loader is not part of main (config/file.ts): this runs once per agent as Choria starts.
    const { loadConfig } = await import('../config/load.js');
    return !(await loadConfig(env)).agents.disabled.includes(agent);
  } catch {
    return false;
  }
}

function onPath(command: string, path: string): boolean {
  return path.split(delimiter).some((directory) => {
    try {
      accessSync(join(directory || '.', command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
