// Provisioning tests run the agent with their own configuration: pools of every file
// plugin under a private directory, and the catalogue of small real templates that
// scripts/test-templates.sh builds (a bootable disk image, a container tarball with an
// overlay, a PXE tree). Everything lives under one t- directory removed afterwards.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO, stdioRpc, type Reply } from '../helpers/agent.js';

export const CATALOGUE = process.env.HVAGENT_TEST_TEMPLATES ?? '/var/lib/hvagent/test-templates';

export interface Sandbox {
  root: string;
  config: string;
  pools: { vms: string; flat: string; ct: string };
  env: Record<string, string>;
  rpc(agent: string, action: string, data: Record<string, unknown>, env?: Record<string, string>): Promise<Reply>;
  /** Every file or directory left in the pools (relative paths). */
  leftovers(): string[];
  /** Removes the sandbox, and the libvirt mirrors of its pools (hvagent-<pool>) the volume agent defined. */
  remove(): Promise<void>;
}

/** Builds the test templates (idempotent, fast when up to date). */
export async function buildTestTemplates(): Promise<void> {
  await execa(join(REPO, 'scripts', 'test-templates.sh'), [], { env: { HVAGENT_TEST_TEMPLATES: CATALOGUE }, stdin: 'ignore' });
}

export function makeSandbox(): Sandbox {
  const root = `/var/lib/hvagent/t-prov-${randomBytes(4).toString('hex')}`;
  const pools = { vms: join(root, 'vms'), flat: join(root, 'flat'), ct: join(root, 'ct') };
  for (const dir of Object.values(pools)) mkdirSync(dir, { recursive: true });
  const config = join(root, 'hvagent.yaml');
  writeFileSync(
    config,
    [
      'storage:',
      '  pools:',
      `    vms: { plugin: qcow2, path: ${pools.vms} }`,
      `    flat: { plugin: raw, path: ${pools.flat}, max_volume_mb: 512 }`,
      `    ct: { plugin: dir, path: ${pools.ct} }`,
      'templates:',
      `  catalogue: ${CATALOGUE}`,
      '',
    ].join('\n'),
  );
  const env = { HVAGENT_CONFIG: config };
  return {
    root,
    config,
    pools,
    env,
    rpc: (agent, action, data, extra = {}) => stdioRpc({ agent, action, data }, { ...env, ...extra }),
    leftovers: () =>
      Object.entries(pools).flatMap(([pool, dir]) => (existsSync(dir) ? readdirSync(dir).map((entry) => `${pool}/${entry}`) : [])),
    async remove() {
      for (const pool of Object.keys(pools)) {
        const mirror = `hvagent-${pool}`;
        const xml = await execa('virsh', ['-c', 'qemu:///system', 'pool-dumpxml', mirror], { reject: false });
        if (xml.exitCode !== 0 || !String(xml.stdout).includes(`<path>${root}/`)) continue;
        await execa('virsh', ['-c', 'qemu:///system', 'pool-destroy', mirror], { reject: false });
        await execa('virsh', ['-c', 'qemu:///system', 'pool-undefine', mirror], { reject: false });
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
