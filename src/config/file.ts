import { readFileSync } from 'node:fs';
import { HvError } from '../core/errors.js';
import type { AuditConfig } from './schema.js';

// Where the configuration file is and what it holds, without parsing it: what a refused
// request needs for its audit line (config/refusal.ts), kept apart from the loader
// (config/load.ts: YAML, the schema, the pool drop-ins), which only a request that passed
// validation loads (P1, docs/PERFORMANCE.md).

export const DEFAULT_CONFIG_FILE = '/etc/hvagent/hvagent.yaml';
export const DEFAULT_AUDIT_FILE = '/var/log/hvagent/audit.log';
export const DEFAULT_AUDIT: Readonly<AuditConfig> = { enabled: true, file: DEFAULT_AUDIT_FILE, syslog: false };
/** The uids whose request files' callers are trusted: root, as MCollective and Choria run. */
export const DEFAULT_MIDDLEWARE_UIDS: readonly number[] = [0];

type Env = Record<string, string | undefined>;

/** The configuration file: HVAGENT_CONFIG, else Choria's plugin config's `config`, else the default. */
export function configFileOf(env: Env): { file: string; explicit: boolean; choria: ReturnType<typeof readChoriaPluginConfig> } {
  const choria = readChoriaPluginConfig(env.CHORIA_EXTERNAL_CONFIG);
  return { file: env.HVAGENT_CONFIG ?? choria.config ?? DEFAULT_CONFIG_FILE, explicit: env.HVAGENT_CONFIG !== undefined || choria.config !== undefined, choria };
}

/** The file's text; undefined when the default file is missing (every key at its default). */
export function readConfigText(file: string, mustExist: boolean): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (!mustExist && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HvError('CONFIG_INVALID', `Cannot read configuration ${file}: ${(error as Error).message}`);
  }
}

/** Blank lines and comments only, as the packaged file is: every key at its default, no YAML parser needed. */
export function onlyComments(text: string): boolean {
  return /^(?:[ \t]*(?:#[^\n]*)?(?:\r?\n|$))*$/.test(text);
}

/** Choria's plugin config: `key = value` lines, `#` comments (docs/reference/protocols.md §3.3). */
function readChoriaPluginConfig(file: string | undefined): { uri?: string; config?: string } {
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const settings: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match && !line.trimStart().startsWith('#')) settings[match[1]!] = match[2]!;
  }
  return { ...(settings.uri && { uri: settings.uri }), ...(settings.config && { config: settings.config }) };
}
