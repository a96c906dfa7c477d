import { mkdirSync } from 'node:fs';
import type { HvConfig } from '../config/schema.js';
import type { OperationContext } from '../core/operation.js';
import { isEmbedded } from '../libvirt/domains/connections.js';
import { currentState } from '../libvirt/domains/locate.js';
import { stateOf, type VmState } from '../libvirt/domains/states.js';
import { runVirshBatch, stdoutOrThrow, virsh } from '../libvirt/virsh.js';
import { withXmlFile } from '../libvirt/xml-file.js';
import type { Volume } from '../storage/index.js';
import { populateRootDirectory } from '../templates/index.js';
import { removeConsoleLog } from '../vm/console-log.js';
import { buildDomainXml, type DiskSpec, type DomainSpec, type NicSpec } from '../vm/domain-xml.js';
import { prepareNics, type PlannedNic } from './nic-steps.js';
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
  state: VmState;
}

export interface Execution {
  readonly config: HvConfig;
  readonly ctx: OperationContext;
  /** The connection the VM is defined on. */
  readonly uri: string;
  readonly base: BaseSpec;
  readonly plan: ProvisionPlan;
  /**
   * The NICs, once the checks that must pass before anything is defined are in (the name
   * is free, the MAC addresses are not taken): volumes are made meanwhile, nothing needing
   * those answers (a first-boot file, the domain) before.
   */
  readonly checkedNics: Promise<PlannedNic[]>;
  readonly start: boolean;
  readonly autostart: boolean;
}

export async function execute({ config, ctx, uri, base, plan, checkedNics: nics, start, autostart }: Execution): Promise<Provisioned> {
  return withRollback(async (rollback) => {
    const volumes: Volume[] = [];
    const spec: DomainSpec = { ...base, disks: [...base.disks], nics: [] };
    const checkedNics = async () => (spec.nics = await nics);

    if (plan.root) {
      const root = await createVolume(ctx, rollback, plan.root);
      volumes.push(root);
      rollback.done('root-volume');
      if (root.attach === 'directory') {
        spec.rootfs = root.path;
        if (plan.template?.type === 'lxc' || plan.template?.type === 'tar') {
          const firstBoot = { name: spec.name, nics: (await checkedNics()).map((nic) => ({ mac: nic.mac ?? '', ...nic.source })) };
          await populateRootDirectory(plan.template, root.path, firstBoot, { signal: ctx.signal, progress: ctx.progress });
          rollback.done('populate');
        }
      } else {
        spec.disks.unshift(diskOf(root));
      }
    }
    for (const data of plan.data) {
      const volume = await createVolume(ctx, rollback, data);
      volumes.push(volume);
      spec.disks.push(diskOf(volume));
      rollback.done('data-volume');
    }
    const leases = await prepareNics(config, ctx, rollback, await nics);
    await checkedNics();
    if (volumes.length > 0) spec.metadata = { ...spec.metadata, volumes: volumes.map((volume) => `${volume.pool}/${volume.name}`).join(',') };
    if (leases) spec.metadata = { ...spec.metadata, leases };

    if (spec.consoleLog) {
      mkdirSync(config.paths.console_log_dir, { recursive: true, mode: 0o750 });
      const consoleLog = spec.consoleLog;
      rollback.made(`console log ${consoleLog}`, async () => removeConsoleLog(config, consoleLog));
      rollback.done('console-log');
    }
    // define, autostart, start and the state read in one virsh process: on the hot path of
    // provisioning, each extra process is a connection set up and torn down (P5).
    ctx.progress({ phase: start ? 'defining and starting' : 'defining' });
    const [defined, ...after] = await withXmlFile(buildDomainXml(spec), (file) =>
      runVirshBatch([['define', file], ...(autostart ? [['autostart', spec.name]] : []), ...(start ? [['start', spec.name]] : []), ['domstate', spec.name]], {
        uri,
        signal: ctx.signal,
      }),
    );
    // Every undo is registered before any step is marked done: by then the batch has run
    // them all, and a failure injected after `define` must also stop the started guest.
    stdoutOrThrow(defined!);
    rollback.made(`domain ${spec.name}`, () => virsh(uri, ['undefine', spec.name]));
    const autostarted = autostart ? after.shift()! : undefined;
    const started = start ? after.shift()! : undefined;
    if (started && !started.error) rollback.made(`running domain ${spec.name}`, () => virsh(uri, ['destroy', spec.name]));
    rollback.done('define');
    if (autostarted) {
      stdoutOrThrow(autostarted);
      rollback.done('autostart');
    }
    if (started) {
      stdoutOrThrow(started);
      rollback.done('start');
    }
    const state = isEmbedded(uri) ? await currentState({ uri, name: spec.name }, ctx.signal) : stateOf(stdoutOrThrow(after.shift()!));
    return { volumes, nics: spec.nics, state };
  });
}

async function createVolume(ctx: OperationContext, rollback: Rollback, plan: VolumePlan): Promise<Volume> {
  const { pool } = plan;
  ctx.progress({ phase: 'creating volume', message: `${pool.name}/${plan.name}` });
  // The caller holds the volume's lock (provisionVm takes every planned volume's lock).
  const volume = await pool.create(
    {
      name: plan.name,
      ...(plan.sizeMb !== undefined && { sizeMb: plan.sizeMb }),
      ...(plan.from?.kind === 'backing' && { backing: { path: plan.from.path, format: plan.from.format } }),
      ...(plan.from?.kind === 'source' && { source: { path: plan.from.path, format: plan.from.format } }),
    },
    { signal: ctx.signal, progress: ctx.progress, deadline: ctx.deadline },
  );
  // Undone without the request's signal: by then it may be aborted (deadline), and the
  // volume must still go.
  rollback.made(`volume ${pool.name}/${plan.name}`, () => pool.delete(plan.name, {}));
  return volume;
}

function diskOf(volume: Volume): DiskSpec {
  return { type: volume.attach === 'block' ? 'block' : 'file', path: volume.path, format: volume.format ?? 'raw' };
}
