import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { HvConfig } from '../config/schema.js';

/** A VM's console log goes with the VM, but only a log hvagent's own directory holds. */
export function removeConsoleLog(config: HvConfig, path: string | null): void {
  if (path && dirname(resolve(path)) === resolve(config.paths.console_log_dir)) rmSync(path, { force: true });
}
