import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HvError } from '../core/errors.js';
import { configValidator } from '../ddl/registry.js';
import { configFileOf, DEFAULT_AUDIT, DEFAULT_MIDDLEWARE_UIDS, onlyComments, readConfigText } from './file.js';
import { readPoolDropins } from './pool-dropins.js';
import { DEFAULT_OPERATIONS, DEFAULT_SERVER, LIBVIRT_URI_PATTERN, type HvConfig, type PoolConfig } from './schema.js';

export { DEFAULT_AUDIT_FILE, DEFAULT_CONFIG_FILE } from './file.js';
export const DEFAULT_URI = 'qemu:///system';
export const DEFAULT_POLICY_DIR = '/etc/hvagent/policy';
const DEFAULT_LXC_URI = 'lxc:///system';
const DEFAULT_IMAGE_DIRECTORIES = ['/var/lib/hvagent', '/var/lib/libvirt/images'];
/** Used when the file names no pools: VM disks as thin qcow2 files, container roots as directories. */
export const DEFAULT_POOLS: Record<string, PoolConfig> = {
  default: { plugin: 'qcow2', path: '/var/lib/hvagent/volumes' },
  containers: { plugin: 'dir', path: '/var/lib/hvagent/containers' },
};

export const TEMPLATE_DEFAULTS: HvConfig['templates'] = {
  catalogue: '/var/lib/hvagent/templates',
  import_dirs: ['/var/lib/hvagent/import'],
  max_import_mb: 64 * 1024,
  // Within the template agent's deadline (timeout 3600 s less its margin): its own error comes first.
  download_timeout_s: 3000,
  download_stall_s: 60,
  import_flush: 'before_use',
};

type Env = Record<string, string | undefined>;

/**
 * Reads the config file (HVAGENT_CONFIG, else /etc/hvagent/hvagent.yaml; a missing
 * default file means defaults), then applies overrides: Choria's per-agent plugin
 * config (`uri = …`, since Choria clears our environment) and HVAGENT_URI.
 */
export function loadConfig(env: Env = process.env): Promise<HvConfig> {
  if (env !== process.env) return readConfig(env);
  // Read once per process: a stream of requests must not re-read and re-parse it each
  // time. Only a change of the pool drop-ins (a pool the API made or removed, maybe in
  // another process) is looked for, with one stat(2) of their directory per request.
  if (cached && dropinStamp(cached.dropins) === cached.stamp) return cached.config;
  return remember(env, readConfig(env));
}

let cached: { config: Promise<HvConfig>; dropins: string; stamp: string } | undefined;

/**
 * Reads the configuration again (a long-running process, on SIGHUP). A file that does
 * not load leaves the configuration in use unchanged, and the error says why.
 */
export async function reloadConfig(env: Env = process.env): Promise<HvConfig> {
  const fresh = await readConfig(env);
  if (env === process.env) remember(env, Promise.resolve(fresh));
  return fresh;
}

function remember(env: Env, config: Promise<HvConfig>): Promise<HvConfig> {
  const dropins = poolDropinDirectory(configFileOf(env).file);
  // Stamped before the read finishes: a change made meanwhile is read by the next request.
  cached = { config, dropins, stamp: dropinStamp(dropins) };
  return config;
}

/** Where the API keeps the pools it makes: pools.d beside the configuration file. */
export function poolDropinDirectory(configFile: string): string {
  return join(dirname(configFile), 'pools.d');
}

function dropinStamp(directory: string): string {
  try {
    // Most hosts have no pools.d: no exception (and its stack trace) for that on every request.
    const stats = statSync(directory, { bigint: true, throwIfNoEntry: false });
    return stats ? `${stats.ino}:${stats.mtimeNs}` : 'absent';
  } catch {
    return 'absent';
  }
}

async function readConfig(env: Env): Promise<HvConfig> {
  const { file, explicit, choria } = configFileOf(env);
  const raw = await readYamlFile(file, explicit);

  // A file that sets nothing (missing, or comments only, as packaged) needs no validator:
  // the schema takes {} (test/unit/config), and a request need not load it.
  const validateConfig = setsNothing(raw) ? undefined : configValidator();
  if (validateConfig && !validateConfig(raw)) {
    const error = validateConfig.errors?.[0];
    const where = error?.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'top level';
    const why = error?.keyword === 'additionalProperties' ? `has an unknown key '${String(error.params.additionalProperty)}'` : (error?.message ?? 'is invalid');
    throw new HvError('CONFIG_INVALID', `Configuration ${file}: ${where} ${why}`);
  }
  const parsed = (raw ?? {}) as Partial<HvConfig>;
  const config: HvConfig = {
    libvirt: { uri: parsed.libvirt?.uri ?? DEFAULT_URI, lxc_uri: parsed.libvirt?.lxc_uri ?? DEFAULT_LXC_URI },
    authorization: {
      ...parsed.authorization,
      read_only: parsed.authorization?.read_only ?? false,
      rules: parsed.authorization?.rules ?? [],
      default_deny: parsed.authorization?.default_deny ?? false,
      policy_dir: parsed.authorization?.policy_dir ?? DEFAULT_POLICY_DIR,
      middleware_uids: parsed.authorization?.middleware_uids ?? [...DEFAULT_MIDDLEWARE_UIDS],
    },
    audit: { ...DEFAULT_AUDIT, ...parsed.audit },
    idempotency: { window_seconds: 3600, max_entries: 10000, ...parsed.idempotency },
    agents: { disabled: parsed.agents?.disabled ?? [] },
    paths: {
      images: parsed.paths?.images ?? DEFAULT_IMAGE_DIRECTORIES,
      lock_dir: parsed.paths?.lock_dir ?? '/run/hvagent/locks',
      console_log_dir: parsed.paths?.console_log_dir ?? '/var/log/hvagent/console',
      jobs_dir: parsed.paths?.jobs_dir ?? '/run/hvagent/jobs',
    },
    storage: { pools: parsed.storage?.pools ?? DEFAULT_POOLS, shared_hosts: parsed.storage?.shared_hosts ?? [] },
    admission: parsed.admission ?? {},
    templates: { ...TEMPLATE_DEFAULTS, ...parsed.templates },
    firewall: { default_filter: parsed.firewall?.default_filter ?? 'clean-traffic' },
    cloud_init: { ssh_host_keys: parsed.cloud_init?.ssh_host_keys ?? ['ed25519', 'ecdsa'] },
    server: { ...DEFAULT_SERVER, ...parsed.server },
    operations: { ...DEFAULT_OPERATIONS, ...parsed.operations },
    source: { file: raw === undefined ? null : file, uri_from: parsed.libvirt?.uri ? 'file' : 'default' },
  };
  const directory = poolDropinDirectory(file);
  const dropins = await readPoolDropins(directory);
  for (const name of Object.keys(dropins)) {
    if (Object.hasOwn(config.storage.pools, name)) throw new HvError('CONFIG_INVALID', `Pool drop-in ${join(directory, `${name}.yaml`)}: pool '${name}' is already configured in ${file}`);
  }
  config.storage = { ...config.storage, pools: { ...config.storage.pools, ...dropins }, dropins: { directory, names: Object.keys(dropins).sort() } };
  for (const [pool, settings] of Object.entries(config.storage.pools)) {
    const needs = settings.plugin === 'lvm' ? 'volume_group' : 'path';
    if (settings[needs] === undefined) throw new HvError('CONFIG_INVALID', `Configuration ${file}: storage pool '${pool}' (${settings.plugin}) needs '${needs}'`);
    if (settings.shared && settings.plugin !== 'raw' && settings.plugin !== 'qcow2') {
      throw new HvError('CONFIG_INVALID', `Configuration ${file}: storage pool '${pool}' (${settings.plugin}) cannot be shared: only raw and qcow2 pools can`);
    }
    if (settings.shared && (config.storage.shared_hosts ?? []).length === 0) {
      // Without them the in-use check would see this host alone: exactly what shared: true is there to prevent.
      throw new HvError('CONFIG_INVALID', `Configuration ${file}: storage pool '${pool}' is shared: list the other hosts that mount it in storage.shared_hosts`);
    }
  }
  if (choria.uri !== undefined) overrideUri(config, choria.uri, 'choria plugin config');
  if (env.HVAGENT_URI !== undefined) overrideUri(config, env.HVAGENT_URI, 'HVAGENT_URI');
  return config;
}

function setsNothing(raw: unknown): boolean {
  return raw === undefined || (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Object.keys(raw).length === 0);
}

function overrideUri(config: HvConfig, uri: string, from: HvConfig['source']['uri_from']): void {
  if (uri.length > 1024 || !new RegExp(LIBVIRT_URI_PATTERN).test(uri)) {
    throw new HvError('CONFIG_INVALID', `${from}: "${uri.slice(0, 80)}" is not a libvirt URI hvagent accepts`);
  }
  config.libvirt.uri = uri;
  config.source.uri_from = from;
}

async function readYamlFile(file: string, mustExist: boolean): Promise<unknown> {
  const text = readConfigText(file, mustExist);
  if (text === undefined || onlyComments(text)) return text === undefined ? undefined : {};
  // Loaded here, not at start-up: most requests never read the configuration.
  const { parse } = await import('yaml');
  try {
    return parse(text) ?? {};
  } catch (error) {
    throw new HvError('CONFIG_INVALID', `Configuration ${file} is not valid YAML: ${(error as Error).message}`);
  }
}
