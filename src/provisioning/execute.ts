import { mkdirSync } from 'node:fs';
import type { HvConfig } from '../config/schema.js';
import type { OperationContext } from '../core/operation.js';
import { isEmbedded } from '../libvirt/domains/connections.js';
import { currentState } from '../libvirt/domains/locate.js';
import { removeDomain } from '../libvirt/domains/remove.js';
import { stateOf, type VmState } from '../libvirt/domains/states.js';
import { runVirshBatch, stdoutOrThrow } from '../libvirt/virsh.js';
import { Intent } from '../files/intents.js';
import { lockKey } from '../files/locks.js';
import { withRollback } from '../files/rollback.js';
import { withXmlFile } from '../libvirt/xml-file.js';
import { volumeUndo, type Volume } from '../storage/index.js';
import { populateRootDirectory } from '../templates/index.js';
import { removeConsoleLog } from '../vm/console-log.js';
import { buildDomainXml, type DiskSpec, type DomainSpec, type NicSpec } from '../vm/domain-xml.js';
import type { ProvisionPlan, VolumePlan } from './plan.js';
import { ProvisionRollback } from './rollback.js';

// One request provisions a whole VM: its volumes from the named pools, the template
// applied onto the root volume, NICs, the domain defined and optionally started. Every
// step registers its undo before it begins, in the intent journal too, so a failure
// anywhere (or the deadline, or SIGTERM) leaves no file, volume or domain behind, and a
// request killed outright has its work undone by the next one (src/recovery/).

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
  readonly checkedNics: Promise<NicSpec[]>;
  readonly start: boolean;
  readonly autostart: boolean;
  /** Runs the define (and start) once admission allows it, under the host lock (vm/admission.ts). */
  readonly admit: <T>(define: () => Promise<T>) => Promise<T>;
}

export async function execute({ config, ctx, uri, base, plan, checkedNics: nics, start, autostart, admit }: Execution): Promise<Provisioned> {
  const keys = [lockKey.vm(base.name), ...[...(plan.root ? [plan.root] : []), ...plan.data].map((volume) => lockKey.volume(volume.pool.name, volume.name))];
  const intent = Intent.begin(config.paths.lock_dir, keys, `vm create ${base.name}`);
  return withRollback(new ProvisionRollback(intent), async (rollback) => {
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
    await checkedNics();
    if (volumes.length > 0) spec.metadata = { ...spec.metadata, volumes: volumes.map((volume) => `${volume.pool}/${volume.name}`).join(',') };

    if (spec.consoleLog) {
      mkdirSync(config.paths.console_log_dir, { recursive: true, mode: 0o750 });
      const consoleLog = spec.consoleLog;
      rollback.will(`console log ${consoleLog}`, async () => removeConsoleLog(config, consoleLog), { kind: 'file', path: consoleLog });
      rollback.done('console-log');
    }
    // The name was found free under the VM's lock (checkedNics): a domain of this name is
    // from here on this request's own, whether or not the batch below gets to define it.
    rollback.will(`domain ${spec.name}`, () => removeDomain(uri, spec.name), { kind: 'domain', uri, name: spec.name });
    // define, autostart, start and the state read in one virsh process: on the hot path of
    // provisioning, each extra process is a connection set up and torn down (P5).
    ctx.progress({ phase: start ? 'defining and starting' : 'defining' });
    const [defined, ...after] = await admit(() =>
      withXmlFile(buildDomainXml(spec), (file) =>
        runVirshBatch([['define', file], ...(autostart ? [['autostart', spec.name]] : []), ...(start ? [['start', spec.name]] : []), ['domstate', spec.name]], {
          uri,
          signal: ctx.signal,
        }),
      ),
    );
    stdoutOrThrow(defined!);
    const autostarted = autostart ? after.shift()! : undefined;
    const started = start ? after.shift()! : undefined;
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

async function createVolume(ctx: OperationContext, rollback: ProvisionRollback, plan: VolumePlan): Promise<Volume> {
  const { pool } = plan;
  ctx.progress({ phase: 'creating volume', message: `${pool.name}/${plan.name}` });
  // The caller holds the volume's lock (provisionVm takes every planned volume's lock).
  const volume = await pool.create(
    {
      name: plan.name,
      ...(plan.sizeMb !== undefined && { sizeMb: plan.sizeMb }),
      ...(plan.from?.kind === 'backing' && { backing: { path: plan.from.path, format: plan.from.format } }),
      ...(plan.from?.kind === 'source' && { source: { path: plan.from.path, format: plan.from.format } }),
      // Undone without the request's signal: by then it may be aborted (deadline), and the
      // volume must still go.
      beforeMake: () => rollback.will(`volume ${pool.name}/${plan.name}`, () => pool.delete(plan.name, {}), volumeUndo(pool, plan.name)),
    },
    { signal: ctx.signal, progress: ctx.progress, deadline: ctx.deadline },
  );
  return volume;
}

function diskOf(volume: Volume): DiskSpec {
  return { type: volume.attach === 'block' ? 'block' : 'file', path: volume.path, format: volume.format ?? 'raw' };
}
