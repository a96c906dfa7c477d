import { mkdirSync } from 'node:fs';
import type { ActionContext } from '../../core/action.js';
import { withVolumeLock, type Volume } from '../../storage/index.js';
import { populateRootDirectory } from '../../templates/index.js';
import { removeConsoleLog } from '../console-log.js';
import { defineDomain } from '../define.js';
import { buildDomainXml, type DiskSpec, type DomainSpec, type NicSpec } from '../domain-xml.js';
import { virsh } from '../hypervisor.js';
import type { ProvisionPlan, VolumePlan } from './plan.js';
import { withRollback, type Rollback } from './rollback.js';

// One request provisions a whole VM: its volumes from the named pools, the template
// applied onto the root volume, NICs, the domain defined and optionally started. Every
// step registers its undo first thing after it succeeds, so a failure anywhere (or the
// deadline) leaves no file, volume or domain behind.

/** The domain as the request describes it; provisioning adds the disks, root directory and NICs it makes. */
export type BaseSpec = Omit<DomainSpec, 'disks' | 'nics'> & { disks: DiskSpec[] };

export interface Provisioned {
  volumes: Volume[];
  nics: NicSpec[];
}

export async function provision(context: ActionContext, uri: string, base: BaseSpec, plan: ProvisionPlan, nics: NicSpec[]): Promise<Provisioned> {
  return withRollback(async (rollback) => {
    const volumes: Volume[] = [];
    const spec: DomainSpec = { ...base, disks: [...base.disks], nics };

    if (plan.root) {
      const root = await createVolume(context, rollback, plan.root);
      volumes.push(root);
      rollback.done('root-volume');
      if (root.attach === 'directory') {
        spec.rootfs = root.path;
        if (plan.template?.type === 'lxc' || plan.template?.type === 'tar') {
          const firstBoot = { name: spec.name, nics: nics.map((nic) => ({ mac: nic.mac ?? '', ...nic.source })) };
          await populateRootDirectory(plan.template, root.path, firstBoot, { signal: context.signal, progress: context.progress });
          rollback.done('populate');
        }
      } else {
        spec.disks.unshift(diskOf(root));
      }
    }
    for (const data of plan.data) {
      const volume = await createVolume(context, rollback, data);
      volumes.push(volume);
      spec.disks.push(diskOf(volume));
      rollback.done('data-volume');
    }
    if (volumes.length > 0) spec.metadata = { ...spec.metadata, volumes: volumes.map((volume) => `${volume.pool}/${volume.name}`).join(',') };

    if (spec.consoleLog) {
      mkdirSync(context.config.paths.console_log_dir, { recursive: true, mode: 0o750 });
      const consoleLog = spec.consoleLog;
      rollback.made(`console log ${consoleLog}`, async () => removeConsoleLog(context.config, consoleLog));
      rollback.done('console-log');
    }
    context.progress({ phase: 'defining' });
    await defineDomain(uri, buildDomainXml(spec), context.signal);
    rollback.made(`domain ${spec.name}`, () => virsh(uri, ['undefine', spec.name]));
    rollback.done('define');

    if (context.inputs.autostart === true) {
      await virsh(uri, ['autostart', spec.name], context.signal);
      rollback.done('autostart');
    }
    if (context.inputs.start === true) {
      context.progress({ phase: 'starting' });
      await virsh(uri, ['start', spec.name], context.signal);
      rollback.made(`running domain ${spec.name}`, () => virsh(uri, ['destroy', spec.name]));
      rollback.done('start');
    }
    return { volumes, nics };
  });
}

async function createVolume(context: ActionContext, rollback: Rollback, plan: VolumePlan): Promise<Volume> {
  const { pool } = plan;
  context.progress({ phase: 'creating volume', message: `${pool.name}/${plan.name}` });
  const volume = await withVolumeLock(context.config, context.deadline, pool.name, plan.name, () =>
    pool.create(
      {
        name: plan.name,
        ...(plan.sizeMb !== undefined && { sizeMb: plan.sizeMb }),
        ...(plan.from?.kind === 'backing' && { backing: { path: plan.from.path, format: plan.from.format } }),
        ...(plan.from?.kind === 'source' && { source: { path: plan.from.path, format: plan.from.format } }),
      },
      { signal: context.signal, progress: context.progress, deadline: context.deadline },
    ),
  );
  // Undone without the request's signal: by then it may be aborted (deadline), and the
  // volume must still go.
  rollback.made(`volume ${pool.name}/${plan.name}`, () => pool.delete(plan.name, {}));
  return volume;
}

function diskOf(volume: Volume): DiskSpec {
  return { type: volume.attach === 'block' ? 'block' : 'file', path: volume.path, format: volume.format ?? 'raw' };
}
