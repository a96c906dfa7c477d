import { readFileSync } from 'node:fs';

// Which process wrote something (a job record, an import's temporary file) and whether it
// still runs. A pid alone is not enough: pids are reused, so the process's start time
// (/proc/PID/stat field 22, clock ticks after boot) is kept beside it.

export function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** Whether the process `pid` that started at `start` (null: unknown) still runs. */
export function processAlive(pid: number, start: number | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (start === null) return true;
  return processStart(pid) === start;
}
