import type { HvConfig } from './schema.js';
import { configFileOf, DEFAULT_AUDIT, DEFAULT_MIDDLEWARE_UIDS, onlyComments, readConfigText } from './file.js';

/** What a request refused before it ran needs of the configuration: where its audit line goes, and whose callers to trust. */
export type RefusalSettings = Pick<HvConfig, 'audit'> & { readonly authorization: Pick<HvConfig['authorization'], 'middleware_uids'> };

type Env = Record<string, string | undefined>;

let defaults: RefusalSettings | undefined;

/**
 * The settings a refused request's audit line needs, at the cost of one read where the file
 * sets nothing (missing, or comments only, as packaged): the defaults, with no YAML parser,
 * schema or loader. A file that sets anything is loaded whole (config/load.ts), so that a
 * refusal is recorded exactly as the configuration says.
 */
export async function refusalSettings(env: Env = process.env): Promise<RefusalSettings> {
  if (defaults && env === process.env) return defaults;
  const { file, explicit } = configFileOf(env);
  const text = readConfigText(file, explicit);
  if (text === undefined || onlyComments(text)) {
    const settings: RefusalSettings = { audit: { ...DEFAULT_AUDIT }, authorization: { middleware_uids: [...DEFAULT_MIDDLEWARE_UIDS] } };
    if (env === process.env) defaults = settings;
    return settings;
  }
  const { loadConfig } = await import('./load.js');
  return loadConfig(env);
}
