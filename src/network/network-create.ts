import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { failAfterForTests } from '../core/test-failure.js';
import { Intent } from '../files/intents.js';
import { lockKey, withLock } from '../files/locks.js';
import { Rollback, withRollback } from '../files/rollback.js';
import { runVirshBatch, stdoutOrThrow } from '../libvirt/index.js';
import { withXmlFile } from '../libvirt/xml-file.js';
import { interfaceExists, mustBeBridge } from './host-bridges.js';
import { networkDetail, type NetworkDetail } from './host-networks.js';
import { mustReadNetwork, readNetwork, removeNetwork, type NetworkFound } from './libvirt-networks.js';
import { buildNetworkXml, networkDifferences, networkSpec, type NetworkCreateRequest, type NetworkSpec } from './network-spec.js';
import { assertSubnetFree } from './subnet-check.js';

// `network create`: everything that can refuse the request is checked first (the spec,
// the bridge, the subnet against every network and host route), under one lock for all
// network definitions so that two creates cannot take the same name or subnet. The
// network is then defined, marked autostart and started in one virsh process, its undo
// registered (and written to the intent journal) before: a create that fails or is
// cancelled undefines it again, and one killed meanwhile is undone by the next request.
// A failed create leaves no network behind.

export interface NetworkCreate extends NetworkCreateRequest {
  readonly autostart: boolean;
  readonly start: boolean;
}

export interface NetworkChange {
  readonly network: NetworkDetail;
  readonly changed: boolean;
}

export function createNetwork(config: HvConfig, request: NetworkCreate, ctx: OperationContext): Promise<NetworkChange> {
  const spec = networkSpec(request);
  const uri = config.libvirt.uri;
  const { signal } = ctx;
  return withLock(lockKey.networkDefinitions(), { directory: config.paths.lock_dir, deadline: ctx.deadline }, async () => {
    const existing = await readNetwork(uri, spec.name, signal);
    if (existing) {
      const differences = networkDifferences(spec, existing);
      if (differences.length > 0) {
        throw new HvError('CONFLICT', `Network '${spec.name}' already exists and differs: ${differences.join('; ')}`, { network: spec.name, differences });
      }
      const changed = await bringToState(uri, existing, request, signal);
      return { network: networkDetail(await mustReadNetwork(uri, spec.name, signal)), changed };
    }
    if (spec.mode === 'bridge') mustBeBridge(spec.bridge!);
    else if (spec.bridge !== null && interfaceExists(spec.bridge)) {
      throw new HvError('CONFLICT', `Input 'bridge': the host already has an interface named '${spec.bridge}'; libvirt makes the bridge of a ${spec.mode} network itself`, { input: 'bridge' });
    }
    if (spec.ipv4) await assertSubnetFree(uri, spec.ipv4.subnet, signal);
    const rollback = new Rollback(Intent.begin(config.paths.lock_dir, [lockKey.networkDefinitions()], `network create ${spec.name}`));
    // The journal entry ends once the network is read back, just before the reply.
    return withRollback(rollback, async () => {
      // Made until libvirt says its define failed: a batch killed midway may have defined it.
      const made = { network: true };
      // Without the request's signal: a cancelled request must still take back what it made.
      rollback.made(`network ${spec.name}`, async () => made.network && removeNetwork(uri, spec.name), { kind: 'network', uri, name: spec.name });
      await defineAndStart(uri, spec, request, signal, made);
      return { network: networkDetail(await mustReadNetwork(uri, spec.name, signal)), changed: true };
    });
  });
}

async function defineAndStart(uri: string, spec: NetworkSpec, request: NetworkCreate, signal: AbortSignal, made: { network: boolean }): Promise<void> {
  const steps = [...(request.autostart ? [['net-autostart', spec.name]] : []), ...(request.start ? [['net-start', spec.name]] : [])];
  const [defined, ...rest] = await withXmlFile(buildNetworkXml(spec), (file) => runVirshBatch([['net-define', file], ...steps], { uri, signal }));
  // A define libvirt refused made nothing: a network of that name is not this request's to remove.
  if (defined!.error) made.network = false;
  stdoutOrThrow(defined!);
  for (const result of rest) stdoutOrThrow(result);
  failAfterForTests('network-create');
}

/** An existing network as asked: started and marked autostart when the request says so. */
async function bringToState(uri: string, existing: NetworkFound, request: NetworkCreate, signal: AbortSignal): Promise<boolean> {
  const steps = [
    ...(request.autostart && !existing.autostart && existing.persistent ? [['net-autostart', existing.name]] : []),
    ...(request.start && !existing.active ? [['net-start', existing.name]] : []),
  ];
  for (const result of await runVirshBatch(steps, { uri, signal })) stdoutOrThrow(result);
  return steps.length > 0;
}
