import { HvError } from '../../core/errors.js';
import { ToolError } from '../../process/failure.js';
import { runProcess } from '../../process/run.js';
import { validateLvName, VOLUME_NAME } from '../names.js';
import { qemuImgConvert } from '../qemu-img.js';
import type { StorageOpContext } from '../types.js';
import { MIB, type Measured, type PoolTarget, type StoragePlugin, type VolumeTarget } from './plugin.js';

// lvm pools: one logical volume per volume in the configured volume group, attached as
// the block device /dev/<vg>/<lv>. Sizes are always explicit MiB; every command runs with
// --yes (never a prompt on a pipe); new volumes have old signatures wiped.

const vgOf = (target: PoolTarget) => target.config.volume_group!;
const lvOf = (target: VolumeTarget) => `${vgOf(target)}/${target.name}`;

export function lvcreateArgs(vg: string, name: string, sizeMb: number): string[] {
  return ['--yes', '--wipesignatures', 'y', '--name', name, '--size', `${sizeMb}m`, vg];
}
export function lvresizeArgs(vg: string, name: string, sizeMb: number): string[] {
  return ['--yes', '--size', `${sizeMb}m`, `${vg}/${name}`];
}
export function lvremoveArgs(vg: string, name: string): string[] {
  return ['--yes', `${vg}/${name}`];
}
export function lvsArgs(vg: string, name?: string): string[] {
  return ['--reportformat', 'json', '--units', 'm', '--nosuffix', '-o', 'lv_name,lv_size', name === undefined ? vg : `${vg}/${name}`];
}

async function lvs(target: PoolTarget, name: string | undefined, ctx: StorageOpContext): Promise<Measured[]> {
  const vg = vgOf(target);
  let out: string;
  try {
    out = (await runProcess('lvs', lvsArgs(vg, name), { signal: ctx.signal })).stdout;
  } catch (error) {
    if (name !== undefined && error instanceof ToolError && /Failed to find logical volume/i.test(error.stderr)) return [];
    throw lvmError(error, `list the logical volumes of ${vg}`);
  }
  const report = JSON.parse(out) as { report?: Array<{ lv?: Array<{ lv_name?: string; lv_size?: string }> }> };
  const rows = report.report?.flatMap((section) => section.lv ?? []) ?? [];
  // Hidden and internal volumes ([lvol0_pmspare], thin pool parts) do not have volume names.
  return rows
    .filter((row) => row.lv_name !== undefined && VOLUME_NAME.test(row.lv_name))
    .map((row) => {
      const bytes = Math.round(Number.parseFloat(row.lv_size ?? '0') * MIB);
      return { name: row.lv_name!, path: `/dev/${vg}/${row.lv_name!}`, format: 'raw' as const, capacityBytes: bytes, allocationBytes: bytes, backing: null };
    });
}

function lvmError(error: unknown, what: string): unknown {
  if (!(error instanceof ToolError) || error.cancelled) return error;
  if (/already exists/i.test(error.stderr)) return new HvError('CONFLICT', `Cannot ${what}: ${error.stderr}`, error.details, { cause: error });
  if (/insufficient free space|Insufficient suitable/i.test(error.stderr)) {
    return new HvError('QUOTA_EXCEEDED', `Cannot ${what}: the volume group has not enough free space (${error.stderr})`, error.details, { cause: error });
  }
  return new HvError('COMMAND_FAILED', `Cannot ${what}: ${error.stderr || error.message}`, error.details, { cause: error });
}

async function lvm(command: string, args: string[], ctx: StorageOpContext, what: string): Promise<void> {
  try {
    await runProcess(command, args, { signal: ctx.signal });
  } catch (error) {
    throw lvmError(error, what);
  }
}

export const lvmPlugin: StoragePlugin = {
  type: 'lvm',
  attach: 'block',
  supports: { size: true, backing: false, source: true, resize: true },
  validateName: (name) => validateLvName(name),
  pathOf: (target, name) => `/dev/${vgOf(target)}/${name}`,
  async create(target, plan, ctx) {
    await lvm('lvcreate', lvcreateArgs(vgOf(target), target.name, plan.sizeMb!), ctx, `create logical volume ${lvOf(target)}`);
    // The size asked (lvcreate rounds up to whole extents only when a size is not a multiple of 4 MiB).
    const made = { name: target.name, path: target.path, format: 'raw' as const, capacityBytes: plan.sizeMb! * MIB, allocationBytes: plan.sizeMb! * MIB, backing: null };
    if (!plan.source) return made;
    try {
      // -n: the logical volume is the target as it is; qemu-img must not try to create it.
      await qemuImgConvert(['-n', '-f', plan.source.format, '-O', 'raw', plan.source.path, target.path], ctx, `copy ${plan.source.path}`);
    } catch (error) {
      await lvm('lvremove', lvremoveArgs(vgOf(target), target.name), {}, `remove the partial ${lvOf(target)}`).catch(() => undefined);
      throw error;
    }
    return made;
  },
  async delete(target, ctx) {
    if ((await lvs(target, target.name, ctx)).length === 0) return false;
    await lvm('lvremove', lvremoveArgs(vgOf(target), target.name), ctx, `remove logical volume ${lvOf(target)}`);
    return true;
  },
  async resize(target, _current, sizeMb, _shrink, ctx) {
    await lvm('lvresize', lvresizeArgs(vgOf(target), target.name, sizeMb), ctx, `resize logical volume ${lvOf(target)}`);
  },
  async measure(target, ctx) {
    return (await lvs(target, target.name, ctx))[0];
  },
  list: (target, ctx) => lvs(target, undefined, ctx),
  activate: (target, ctx) => lvm('lvchange', ['--yes', '--activate', 'y', lvOf(target)], ctx, `activate ${lvOf(target)}`),
  deactivate: (target, ctx) => lvm('lvchange', ['--yes', '--activate', 'n', lvOf(target)], ctx, `deactivate ${lvOf(target)}`),
};

