// A private storage configuration per test file: pools named t-<token>-<key> under
// /var/lib/hvagent/t-<token>/, a hvagent.yaml passed as HVAGENT_CONFIG, its own lock
// directory. cleanup() removes the directory and the libvirt pools the agent defined.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { AGENT, agentEnv, stdioRpc, type Reply } from '../helpers/agent.js';

export interface SandboxPool {
  plugin: 'dir' | 'raw' | 'qcow2' | 'lvm';
  max_volume_mb?: number;
  max_total_mb?: number;
  volume_group?: string;
}

export class StorageSandbox {
  readonly token = randomBytes(4).toString('hex');
  readonly root = `/var/lib/hvagent/t-${this.token}`;
  /** Images a request may name (under /var/lib/hvagent, an allowed image directory). */
  readonly images = join(this.root, 'images');
  readonly configFile = join(this.root, 'hvagent.yaml');
  readonly env: Record<string, string>;

  constructor(pools: Record<string, SandboxPool>) {
    mkdirSync(this.images, { recursive: true });
    const configured = Object.fromEntries(
      Object.entries(pools).map(([key, pool]) => [this.pool(key), pool.plugin === 'lvm' ? pool : { ...pool, path: this.poolPath(key) }]),
    );
    writeFileSync(this.configFile, stringify({ storage: { pools: configured }, paths: { lock_dir: join(this.root, 'locks') } }));
    this.env = { HVAGENT_CONFIG: this.configFile };
  }

  pool(key: string): string {
    return `t-${this.token}-${key}`;
  }

  poolPath(key: string): string {
    return join(this.root, 'pools', key);
  }

  volumePath(key: string, name: string): string {
    return join(this.poolPath(key), name);
  }

  /** One request through `hvagent rpc` with this configuration. */
  volume(action: string, data: Record<string, unknown>): Promise<Reply> {
    return stdioRpc({ agent: 'volume', action, data }, this.env);
  }

  /** The same in its own process, not awaited by the caller yet (for races). */
  spawnVolume(action: string, data: Record<string, unknown>) {
    return execa(AGENT, ['rpc'], { input: JSON.stringify({ agent: 'volume', action, data }), env: agentEnv(this.env), extendEnv: false, reject: false });
  }

  /** Entries of a pool directory, hidden ones (temporary parts) included. */
  entries(key: string): string[] {
    return existsSync(this.poolPath(key)) ? readdirSync(this.poolPath(key)).sort() : [];
  }

  async cleanup(): Promise<void> {
    const defined = (await execa('virsh', ['-c', 'qemu:///system', 'pool-list', '--all', '--name'], { reject: false })).stdout.split('\n');
    for (const name of defined.map((line) => line.trim()).filter((line) => line.startsWith(`hvagent-t-${this.token}-`))) {
      await execa('virsh', ['-c', 'qemu:///system', 'pool-destroy', name], { reject: false });
      await execa('virsh', ['-c', 'qemu:///system', 'pool-undefine', name], { reject: false });
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

export interface ImageInfo {
  format: string;
  'virtual-size': number;
  'actual-size': number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
}

export async function qemuImgInfo(path: string, format?: 'raw' | 'qcow2'): Promise<ImageInfo> {
  const ran = await execa('qemu-img', ['info', '-U', '--output=json', ...(format ? ['-f', format] : []), path]);
  return JSON.parse(ran.stdout) as ImageInfo;
}

export const MIB = 1024 * 1024;
