import { mkdirSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import {
  addHostKeys,
  generateHostKeys,
  keyWithoutComment,
  knownHostsLines,
  newInstanceId,
  noCloudFiles,
  removeSeedDirectory,
  withSeedIso,
  writeSeedDirectory,
  type GuestNic,
  type HostKey,
  type NoCloudFiles,
  type PublicHostKey,
} from '../cloudinit/index.js';
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
import { undoVolumeCreate, type Volume } from '../storage/index.js';
import { populateRootDirectory } from '../templates/index.js';
import { removeConsoleLog } from '../vm/console-log.js';
import { buildDomainXml, type DiskSpec, type DomainSpec, type NicSpec } from '../vm/domain-xml.js';
import { prepareNics, type PlannedNic } from './nic-steps.js';
import type { CloudInitPlan, ProvisionPlan, VolumePlan } from './plan.js';
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
  /** The SSH host keys made for the guest (public halves), and known_hosts lines for them (null when none were made). */
  hostKeys: PublicHostKey[];
  knownHosts: string | null;
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
  /** Runs the define (and start) once admission allows it, under the host lock (vm/admission.ts). */
  readonly admit: <T>(define: () => Promise<T>) => Promise<T>;
}

export async function execute({ config, ctx, uri, base, plan, checkedNics: nics, start, autostart, admit }: Execution): Promise<Provisioned> {
  const seedVolume = plan.cloudInit?.seed.kind === 'volume' ? [plan.cloudInit.seed.volume] : [];
  const keys = [lockKey.vm(base.name), ...[...(plan.root ? [plan.root] : []), ...plan.data, ...seedVolume].map((volume) => lockKey.volume(volume.pool.name, volume.name))];
  const intent = Intent.begin(config.paths.lock_dir, keys, `vm create ${base.name}`);
  return withRollback(new ProvisionRollback(intent), async (rollback) => {
    const volumes: Volume[] = [];
    const made: { hostKeys: HostKey[] } = { hostKeys: [] };
    const spec: DomainSpec = { ...base, disks: [...base.disks], nics: [] };
    const checkedNics = async () => (spec.nics = await nics);
    // The guest's host keys are made while the volumes are: RSA's take seconds. Their
    // private directory is gone once the promise settles; a rollback waits for that.
    // Journalled before the directory is made: a SIGKILL while ssh-keygen runs leaves an
    // entry, and the request that finishes it removes this process's private directories.
    let hostKeys: Promise<HostKey[]> | undefined;
    if (plan.cloudInit && plan.cloudInit.hostKeyTypes.length > 0) rollback.made('ssh host keys', async () => hostKeys?.catch(() => undefined), { kind: 'temporaries' });
    hostKeys = plannedHostKeys(plan.cloudInit, ctx.signal);

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
    if (plan.cloudInit) {
      const instanceId = newInstanceId();
      made.hostKeys = (await hostKeys) ?? [];
      const userData = addHostKeys(plan.cloudInit.userData, made.hostKeys);
      const files = noCloudFiles({ instanceId, hostname: plan.cloudInit.hostname, userData, nics: guestNics(spec.nics, plan) });
      const seed = await makeSeed(ctx, rollback, plan.cloudInit.seed, spec, files);
      if (seed) {
        volumes.push(seed);
        spec.cdroms = [...(spec.cdroms ?? []), { path: seed.path, type: seed.attach === 'block' ? 'block' : 'file', format: seed.format ?? 'raw' }];
      }
      spec.metadata = { ...spec.metadata, instance_id: instanceId };
      if (made.hostKeys.length > 0) spec.metadata.ssh_host_keys = made.hostKeys.map(keyWithoutComment).join(',');
      rollback.done('seed');
    }
    if (volumes.length > 0) spec.metadata = { ...spec.metadata, volumes: volumes.map((volume) => `${volume.pool}/${volume.name}`).join(',') };
    if (leases) spec.metadata = { ...spec.metadata, leases };

    if (spec.consoleLog) {
      mkdirSync(config.paths.console_log_dir, { recursive: true, mode: 0o750 });
      const consoleLog = spec.consoleLog;
      rollback.made(`console log ${consoleLog}`, async () => removeConsoleLog(config, consoleLog), { kind: 'file', path: consoleLog });
      rollback.done('console-log');
    }
    // The name was found free under the VM's lock (checkedNics): a domain of this name is
    // from here on this request's own, whether or not the batch below gets to define it.
    rollback.made(`domain ${spec.name}`, () => removeDomain(uri, spec.name), { kind: 'domain', uri, name: spec.name });
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
    const publicKeys = made.hostKeys.map((key) => key.toJSON());
    return { volumes, nics: spec.nics, state, hostKeys: publicKeys, knownHosts: publicKeys.length > 0 ? knownHostsLines(plan.cloudInit!.knownHosts, publicKeys) : null };
  });
}

/** The guest's SSH host keys, being made, when the plan gives it any. */
function plannedHostKeys(cloudInit: CloudInitPlan | undefined, signal: AbortSignal | undefined): Promise<HostKey[]> | undefined {
  if (!cloudInit || cloudInit.hostKeyTypes.length === 0) return undefined;
  const keys = generateHostKeys(cloudInit.hostKeyTypes, `root@${cloudInit.hostname}`, signal);
  keys.catch(() => undefined); // awaited at the seed step, or by the rollback
  return keys;
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
      beforeMake: () => undoVolumeCreate(rollback, pool, plan.name),
    },
    { signal: ctx.signal, progress: ctx.progress, deadline: ctx.deadline },
  );
  return volume;
}

/**
 * The NoCloud seed: a volume of the VM's pool holding the ISO (returned, to be attached as
 * a CD-ROM), or the files in a container's new root directory. Its undo is registered
 * before it is made, and removes only what this step made.
 */
async function makeSeed(ctx: OperationContext, rollback: ProvisionRollback, placement: CloudInitPlan['seed'], spec: DomainSpec, files: NoCloudFiles): Promise<Volume | undefined> {
  ctx.progress({ phase: 'writing cloud-init seed' });
  if (placement.kind === 'directory') {
    const root = spec.rootfs!;
    rollback.made(`cloud-init seed in ${root}`, async () => removeSeedDirectory(root));
    writeSeedDirectory(root, files);
    return undefined;
  }
  const { pool, name } = placement.volume;
  const made = await withSeedIso(files, ctx.signal, (iso) =>
    // The caller holds the volume's lock (provisionVm takes every planned volume's lock);
    // the undo is registered once the name is known free, before the copy begins.
    pool.create(
      { name, source: { path: iso, format: 'raw' }, beforeMake: () => undoVolumeCreate(rollback, pool, name) },
      { signal: ctx.signal, deadline: ctx.deadline },
    ),
  );
  // The user data may hold secrets: root only (libvirt hands it to QEMU's user at start).
  if (made.attach === 'file') await chmod(made.path, 0o600);
  return made;
}

/** Each NIC as the guest is told it: its MAC and how it gets its IPv4 address. */
function guestNics(nics: readonly NicSpec[], plan: ProvisionPlan): GuestNic[] {
  return nics.map((nic, slot) => {
    const addressing = plan.addressing[slot] ?? { kind: 'dhcp' };
    return {
      mac: nic.mac!,
      ipv4:
        addressing.kind === 'static'
          ? { dhcp: false, address: addressing.address, prefix: addressing.prefix, ...(addressing.gateway && { gateway: addressing.gateway }), nameservers: plan.nameservers }
          : { dhcp: true },
    };
  });
}

function diskOf(volume: Volume): DiskSpec {
  return { type: volume.attach === 'block' ? 'block' : 'file', path: volume.path, format: volume.format ?? 'raw' };
}
