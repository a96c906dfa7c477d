import { loadConfig } from '../config/load.js';
import type { RequestDispatcher } from '../dispatch/dispatcher.js';

// `hvagent __complete vms|templates|networks|pools`: the names the shell completion
// (completion/, generated from the DDL) offers for an input, one a line. Names come from
// the agent's own list actions, so they pass the same authorization as any request. It
// prints nothing on any failure: a completion never shows an error.

const SOURCES: Record<string, (dispatcher: RequestDispatcher) => Promise<string[]>> = {
  vms: (dispatcher) => listed(dispatcher, 'vm', 'vms', 'name'),
  templates: (dispatcher) => listed(dispatcher, 'template', 'templates', 'ref'),
  networks: (dispatcher) => listed(dispatcher, 'network', 'networks', 'name'),
  // The configured pools: no hypervisor needed.
  pools: async () => Object.keys((await loadConfig()).storage.pools),
};

export const COMPLETION_SOURCES = Object.keys(SOURCES);

export async function complete(args: readonly string[], dispatcher: RequestDispatcher): Promise<string> {
  const source = SOURCES[args[0] ?? ''];
  if (!source) return '';
  try {
    const names = await source(dispatcher);
    return names.length === 0 ? '' : `${names.join('\n')}\n`;
  } catch {
    return '';
  }
}

async function listed(dispatcher: RequestDispatcher, agent: string, rows: string, field: string): Promise<string[]> {
  const reply = await dispatcher.handle({ agent, action: 'list', data: {}, callerid: `uid=${process.getuid?.() ?? 'unknown'}`, protocol: 'cli' });
  const entries = reply.statuscode === 0 && Array.isArray(reply.data[rows]) ? (reply.data[rows] as Array<Record<string, unknown>>) : [];
  return entries.map((entry) => entry[field]).filter((name): name is string => typeof name === 'string');
}
