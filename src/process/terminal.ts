// Whether an interactive child (vm console) has the person's terminal: kept apart from the
// runner so that the signal handlers every process installs (main.ts) ask it without
// loading child_process on a request that never runs a tool (P1, docs/PERFORMANCE.md).

let terminalChildren = 0;

/** Whether an interactive child has the terminal now: the interrupt key is its, not ours. */
export function terminalChildRunning(): boolean {
  return terminalChildren > 0;
}

/** Waits for an interactive child while the terminal's interrupt and quit keys reach only it. */
export async function leavingTerminalSignals<T>(child: Promise<T>): Promise<T> {
  const ignore = (): void => undefined;
  const signals = ['SIGINT', 'SIGQUIT'] as const;
  for (const signal of signals) process.on(signal, ignore);
  terminalChildren++;
  try {
    return await child;
  } finally {
    terminalChildren--;
    for (const signal of signals) process.off(signal, ignore);
  }
}
