// The cloud-init tests: the provisioning sandbox (pools under one /var/lib/hvagent/t-prov-*
// directory) with a second configuration whose catalogue holds the real Debian 12 cloud
// image of scripts/cloud-image.sh as image:debian12, written the way an operator (or
// `template import`) would write catalogue.yaml. Also: reading a seed ISO without mounting it.
import { copyFileSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stdioRpc, type Reply } from '../helpers/agent.js';
import { cloudImage } from '../helpers/cloud-image.js';
import { makeSandbox, type Sandbox } from '../provisioning/helpers.js';
import { domstate, QEMU_URI, serialLog, virsh, waitFor } from '../vm/helpers.js';

export interface CloudSandbox extends Sandbox {
  /** The configuration whose catalogue holds image:debian12. */
  cloudEnv: Record<string, string>;
  cloudRpc(agent: string, action: string, data: Record<string, unknown>, envelope?: { requestid?: string }): Promise<Reply>;
}

export function makeCloudSandbox(): CloudSandbox {
  const box = makeSandbox();
  const catalogue = join(box.root, 'templates');
  mkdirSync(join(catalogue, 'images'), { recursive: true });
  const image = join(catalogue, 'images', 'debian12.qcow2');
  // A hard link costs nothing and cannot change the cached image (clones only read it).
  try {
    linkSync(cloudImage(), image);
  } catch {
    copyFileSync(cloudImage(), image);
  }
  writeFileSync(
    join(catalogue, 'catalogue.yaml'),
    ['version: 1', 'templates:', '  - name: debian12', '    type: image', '    description: Debian 12 cloud image (scripts/cloud-image.sh)', '    file: images/debian12.qcow2', '    format: qcow2', '    os: debian12', ''].join('\n'),
  );
  const config = join(box.root, 'hvagent-cloud.yaml');
  writeFileSync(
    config,
    ['storage:', '  pools:', `    vms: { plugin: qcow2, path: ${box.pools.vms} }`, `    ct: { plugin: dir, path: ${box.pools.ct} }`, 'templates:', `  catalogue: ${catalogue}`, ''].join('\n'),
  );
  const cloudEnv = { HVAGENT_CONFIG: config };
  return { ...box, cloudEnv, cloudRpc: (agent, action, data, envelope = {}) => stdioRpc({ agent, action, data, ...envelope }, cloudEnv) };
}

/** The volume id of an ISO 9660 image (isoinfo, from genisoimage). */
export async function isoVolumeId(iso: string): Promise<string> {
  const { stdout } = await execa('isoinfo', ['-d', '-i', iso]);
  return /^Volume id: (.*)$/m.exec(stdout)?.[1]?.trim() ?? '';
}

/** A file at the root of an ISO 9660 image with Rock Ridge names, read without mounting. */
export async function isoFile(iso: string, name: string): Promise<string> {
  return String((await execa('isoinfo', ['-R', '-i', iso, '-x', `/${name}`], { stripFinalNewline: false })).stdout);
}

/** The names at the root of the image. */
export async function isoNames(iso: string): Promise<string[]> {
  const { stdout } = await execa('isoinfo', ['-R', '-f', '-i', iso]);
  return stdout.split('\n').map((line) => line.replace(/^\//, '')).filter(Boolean).sort();
}

/** cloud-init's last line on the console, once per boot: "Cloud-init v. 22.4.2 finished at … Datasource …". */
export const CLOUD_INIT_FINISHED = ' finished at ';

/**
 * cloud-init's whole "finished" line of the first boot, once the guest has written all of it:
 * it reaches the serial port a few characters at a time, and the marker alone comes first.
 */
export function finishedLine(name: string, timeoutMs: number): Promise<string> {
  return waitFor(() => /Cloud-init v\. \S+ finished at [^\n]*\n/.exec(serialLog(name))?.[0], "cloud-init's whole 'finished' line", timeoutMs);
}

/** A wait on a guest that failed says what it printed last and its state. */
export async function explainedWait<T>(name: string, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (error) {
    const tail = serialLog(name).split('\n').slice(-25).join('\n');
    throw new Error(`${(error as Error).message}\nstate: ${await domstate(name).catch(String)}\nserial log tail:\n${tail}`);
  }
}

/** The address `virsh net-dhcp-leases NETWORK --mac MAC` gives, if any yet. */
export async function leasedAddress(network: string, mac: string): Promise<string | undefined> {
  const out = await virsh(QEMU_URI, ['net-dhcp-leases', network, '--mac', mac]);
  const line = out.split('\n').find((row) => row.includes(mac) && row.includes('ipv4'));
  return line ? /\s(\d+\.\d+\.\d+\.\d+)\/\d+\s/.exec(line)?.[1] : undefined;
}
