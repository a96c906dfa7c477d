import { readFile } from 'node:fs/promises';

/**
 * Whether the CPU exposes hardware virtualisation to this kernel: a "flags" line of
 * /proc/cpuinfo carries vmx (Intel VT-x) or svm (AMD-V).
 */
export function cpuinfoHasHardwareVirtualisation(cpuinfo: string): boolean {
  return cpuinfo
    .split('\n')
    .filter((line) => /^flags\s*:/.test(line))
    .some((line) =>
      line
        .slice(line.indexOf(':') + 1)
        .split(/\s+/)
        .some((flag) => flag === 'vmx' || flag === 'svm'),
    );
}

export async function hostHasHardwareVirtualisation(cpuinfoPath = '/proc/cpuinfo'): Promise<boolean> {
  try {
    return cpuinfoHasHardwareVirtualisation(await readFile(cpuinfoPath, 'utf8'));
  } catch {
    // No cpuinfo (non-Linux, restricted sandbox): do not claim what we cannot see.
    return false;
  }
}
