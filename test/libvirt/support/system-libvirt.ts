// Makes sure the real qemu:///system answers, starting it with the project's own setup
// script when it does not (the same script CI uses).
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const SETUP_SCRIPT = fileURLToPath(new URL('../../../scripts/libvirt-setup.sh', import.meta.url));

export async function connectionAnswers(uri: string): Promise<boolean> {
  const probe = await execa('virsh', ['-c', uri, 'uri'], { reject: false, timeout: 30_000 });
  return probe.exitCode === 0;
}

export async function ensureSystemLibvirt(): Promise<void> {
  if (await connectionAnswers('qemu:///system')) return;
  const started = await execa(SETUP_SCRIPT, ['start'], { reject: false, all: true, timeout: 180_000 });
  if (started.exitCode !== 0) {
    throw new Error(`${SETUP_SCRIPT} start failed (exit ${started.exitCode}):\n${started.all}`);
  }
}
