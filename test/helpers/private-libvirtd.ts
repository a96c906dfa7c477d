// A libvirtd of the test's own (private-libvirtd.sh): what admission counts on it, and
// which VMs a fleet identity holds, belong to the test alone, whatever other suites do
// on the shared qemu:///system meanwhile.
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const SCRIPT = fileURLToPath(new URL('./private-libvirtd.sh', import.meta.url));

export interface PrivateLibvirtd {
  readonly dir: string;
  readonly qemuUri: string;
  readonly lxcUri: string;
  /** Every domain destroyed and undefined, the daemons stopped, the directory removed. */
  stop(): Promise<void>;
  /** libvirtd SIGKILLed and started again; resolves once it answers. */
  restart(): Promise<void>;
}

/** `prefix` names the state directory under /var/lib/hvagent (socket paths must stay short). */
export async function startPrivateLibvirtd(prefix: string): Promise<PrivateLibvirtd> {
  const dir = mkdtempSync(`/var/lib/hvagent/${prefix}-`);
  const started = await execa(SCRIPT, ['start', dir], { reject: false, stdin: 'ignore' });
  if (started.exitCode !== 0) {
    await execa(SCRIPT, ['stop', dir], { reject: false, stdin: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`private libvirtd did not start: ${started.stderr}`);
  }
  const [qemuUri, lxcUri] = started.stdout.trim().split('\n');
  return {
    dir,
    qemuUri: qemuUri!,
    lxcUri: lxcUri!,
    async restart() {
      const restarted = await execa(SCRIPT, ['restart', dir], { reject: false, stdin: 'ignore' });
      if (restarted.exitCode !== 0) throw new Error(`private libvirtd did not restart: ${restarted.stderr}`);
    },
    async stop() {
      const stopped = await execa(SCRIPT, ['stop', dir], { reject: false, stdin: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
      if (stopped.exitCode !== 0) throw new Error(`private libvirtd did not stop: ${stopped.stderr}`);
    },
  };
}
