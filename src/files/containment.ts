import { realpathSync, statSync } from 'node:fs';
import { sep } from 'node:path';
import { HvError } from '../core/errors.js';

// Paths named in a request must stay inside the directories the operator allowed for
// images (config paths.images): no `..`, and no symlink may lead out of them, since
// libvirt would otherwise hand the guest any file of the host.

export type PathKind = 'file' | 'directory';

export function resolveAllowedPath(input: string, path: string, kind: PathKind, allowedRoots: readonly string[]): string {
  if (!path.startsWith('/') || path.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new HvError('INPUT_INVALID', `Input '${input}' must be an absolute path without . or .. segments`, { input });
  }
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new HvError('NOT_FOUND', `Input '${input}': ${path} does not exist`, { input });
  }
  const roots = allowedRoots.flatMap((root) => {
    try {
      return [realpathSync(root)];
    } catch {
      return [];
    }
  });
  if (!roots.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : `${root}${sep}`))) {
    throw new HvError('NOT_AUTHORIZED', `Input '${input}': ${path} is outside the allowed image directories (${allowedRoots.join(', ')})`, {
      input,
    });
  }
  const stats = statSync(real);
  if (kind === 'file' ? !stats.isFile() : !stats.isDirectory()) {
    throw new HvError('INPUT_INVALID', `Input '${input}': ${path} is not a ${kind}`, { input });
  }
  return real;
}
