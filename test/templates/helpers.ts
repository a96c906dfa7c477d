// The test template catalogue (scripts/test-templates.sh) and scratch directories that
// cleanupScratch() removes. Names carry a t- prefix: other engineers' tests share the host.
import { randomBytes } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { TEMPLATE_DEFAULTS } from '../../src/config/load.js';
import { DEFAULT_OPERATIONS, DEFAULT_SERVER, type HvConfig } from '../../src/config/schema.js';
import { REPO } from '../helpers/agent.js';

const scratch = new Set<string>();

export function token(): string {
  return randomBytes(5).toString('hex');
}

/** Builds the test catalogue when needed (fast when up to date) and returns its directory. */
export async function testCatalogue(): Promise<string> {
  const ran = await execa(join(REPO, 'scripts', 'test-templates.sh'), [], { timeout: 15 * 60_000 });
  return ran.stdout.trim().split('\n').pop()!;
}

/** A fresh directory (real path) removed by cleanupScratch(). */
export function scratchDirectory(label: string, under = tmpdir()): string {
  const dir = join(under, `t-${label}-${token()}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  scratch.add(dir);
  return realpathSync(dir);
}

export function cleanupScratch(): void {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  scratch.clear();
}

/** A configuration file whose catalogue is `catalogue`, for HVAGENT_CONFIG. */
export function configFileFor(catalogue: string): string {
  const file = join(scratchDirectory('config'), 'hvagent.yaml');
  writeFileSync(file, `templates:\n  catalogue: ${catalogue}\n`);
  return file;
}

/** The same, as the in-process HvConfig the library functions take. */
export function configFor(catalogue: string): HvConfig {
  return {
    libvirt: { uri: 'qemu:///system', lxc_uri: 'lxc:///system' },
    authorization: { read_only: false, rules: [] },
    agents: { disabled: [] },
    paths: { images: ['/var/lib/hvagent'], lock_dir: '/run/hvagent/locks', console_log_dir: '/var/log/hvagent/console', jobs_dir: '/run/hvagent/jobs' },
    storage: { pools: {} },
    templates: { ...TEMPLATE_DEFAULTS, catalogue },
    server: DEFAULT_SERVER,
    operations: DEFAULT_OPERATIONS,
    source: { file: null, uri_from: 'default' },
  };
}

/** Runs GNU tar (archives built the way an attacker would). */
export async function tar(args: string[]): Promise<void> {
  await execa('tar', args, { env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin' } });
}
