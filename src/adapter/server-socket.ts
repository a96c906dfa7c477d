import { readFileSync, statSync } from 'node:fs';

// Where `hvagent serve` listens, for the per-request executables, found without loading
// anything: HVAGENT_SOCKET (empty or "none": never hand over), else `socket = PATH` in
// Choria's per-agent plugin config (Choria clears the environment), else the default.
// A missing socket costs one stat(2); only a socket that exists is connected to.

export const DEFAULT_SERVER_SOCKET = '/run/hvagent/hvagent.sock';

type Env = Record<string, string | undefined>;

export function serverSocket(env: Env): string | undefined {
  const path = env.HVAGENT_SOCKET ?? choriaSocket(env.CHORIA_EXTERNAL_CONFIG) ?? DEFAULT_SERVER_SOCKET;
  if (path === '' || path === 'none') return undefined;
  try {
    // No error is made for a missing socket, the usual case without a server.
    return statSync(path, { throwIfNoEntry: false })?.isSocket() ? path : undefined;
  } catch {
    return undefined;
  }
}

function choriaSocket(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return /^\s*socket\s*=\s*(\S+)\s*$/m.exec(readFileSync(file, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
