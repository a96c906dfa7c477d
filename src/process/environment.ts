// Every tool runs in the same environment, whatever the caller's: the agent may be started
// with an empty one (Choria clears it), and a tool's output must not depend on the
// caller's locale, HOME or LIBVIRT_DEFAULT_URI.

const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function toolEnvironment(): Record<string, string> {
  return { LC_ALL: 'C', PATH: process.env.PATH || FALLBACK_PATH };
}
