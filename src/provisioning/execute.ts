import { mkdirSync } from 'node:fs';
import type { ActionContext } from '../agents/contract.js';
import type { Volume } from '../storage/index.js';
import { populateRootDirectory } from '../templates/index.js';
import { removeConsoleLog } from '../vm/console-log.js';
import { buildDomainXml, type DiskSpec, type DomainSpec, type NicSpec } from '../vm/domain-xml.js';
import { runVirshBatch, stdoutOrThrow } from '../libvirt/index.js';
import { currentState, isEmbedded, stateOf, virsh, type VmState } from '../libvirt/domains/locate.js';
import { withXmlFile } from '../libvirt/xml-file.js';
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

/**
 * `nicsOnceChecked` gives the NICs once the caller's checks (the name is free, the MAC
 * addresses are not taken) are in: volumes are made meanwhile, nothing needing those
 * answers (a first-boot file, the domain) before.
 */
export async function provision(
  context: ActionContext,
  uri: string,
  base: BaseSpec,
  plan: ProvisionPlan,
  nicsOnceChecked: () => Promise<NicSpec[]>,
): Promise<Provisioned> {
  return withRollback(async (rollback) => {
    const volumes: Volume[] = [];
    const spec: DomainSpec = { ...base, disks: [...base.disks], nics: [] };
    let nics: Promise<NicSpec[]> | undefined;
    const checkedNics = () => (nics ??= nicsOnceChecked().then((checked) => (spec.nics = checked)));

    if (plan.root) {
      const root = await createVolume(context, rollback, plan.root);
      volumes.push(root);
      rollback.done('root-volume');
      if (root.attach === 'directory') {
        spec.rootfs = root.path;
        if (plan.template?.type === 'lxc' || plan.template?.type === 'tar') {
          const firstBoot = { name: spec.name, nics: (await checkedNics()).map((nic) => ({ mac: nic.mac ?? '', ...nic.source })) };
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
    await checkedNics();
    if (volumes.length > 0) spec.metadata = { ...spec.metadata, volumes: volumes.map((volume) => `${volume.pool}/${volume.name}`).join(',') };

    if (spec.consoleLog) {
      mkdirSync(context.config.paths.console_log_dir, { recursive: true, mode: 0o750 });
      const consoleLog = spec.consoleLog;
      rollback.made(`console log ${consoleLog}`, async () => removeConsoleLog(context.config, consoleLog));
      rollback.done('console-log');
    }
    // define, autostart, start and the state read in one virsh process: on the hot path of
    // provisioning, each extra process is a connection set up and torn down (P5).
    context.progress({ phase: context.inputs.start === true ? 'defining and starting' : 'defining' });
    const autostart = context.inputs.autostart === true;
    const start = context.inputs.start === true;
    const [defined, ...after] = await withXmlFile(buildDomainXml(spec), (file) =>
      runVirshBatch([['define', file], ...(autostart ? [['autostart', spec.name]] : []), ...(start ? [['start', spec.name]] : []), ['domstate', spec.name]], {
        uri,
        signal: context.signal,
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
    const state = isEmbedded(uri) ? await currentState({ uri, name: spec.name }, context.signal) : stateOf(stdoutOrThrow(after.shift()!));
    return { volumes, nics: spec.nics, state };
  });
}

async function createVolume(context: ActionContext, rollback: Rollback, plan: VolumePlan): Promise<Volume> {
  const { pool } = plan;
  context.progress({ phase: 'creating volume', message: `${pool.name}/${plan.name}` });
  // The caller holds the volume's lock (vm create takes every planned volume's lock).
  const volume = await pool.create(
    {
      name: plan.name,
      ...(plan.sizeMb !== undefined && { sizeMb: plan.sizeMb }),
      ...(plan.from?.kind === 'backing' && { backing: { path: plan.from.path, format: plan.from.format } }),
      ...(plan.from?.kind === 'source' && { source: { path: plan.from.path, format: plan.from.format } }),
    },
    { signal: context.signal, progress: context.progress, deadline: context.deadline },
  );
  // Undone without the request's signal: by then it may be aborted (deadline), and the
  // volume must still go.
  rollback.made(`volume ${pool.name}/${plan.name}`, () => pool.delete(plan.name, {}));
  return volume;
}

function diskOf(volume: Volume): DiskSpec {
  return { type: volume.attach === 'block' ? 'block' : 'file', path: volume.path, format: volume.format ?? 'raw' };
}
