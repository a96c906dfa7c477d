import { setTimeout as sleep } from 'node:timers/promises';
import { HvError } from '../../core/errors.js';
import { runVirsh, runVirshBatch, VirshError } from '../../libvirt/index.js';
import { runVirshWatched, watchedFailure } from '../../libvirt/virsh.js';
import { isMissingDomain } from '../../libvirt/domains/states.js';
import type { Destination } from './destination.js';

// A migration is driven by virsh on this host, connected to both libvirtds (libvirt's
// client-managed migration): nothing else on either host needs to know about hvagent.
// The domain XML travels whole, <metadata> included, so hvagent's facts go with the VM.

export interface MigrationPlan {
  name: string;
  sourceUri: string;
  destination: Destination;
  /** live: memory copied while the guest runs; paused: copied while it is paused; offline: only the definition moves. */
  mode: 'live' | 'paused' | 'offline';
  copyStorage: boolean;
  persistent: boolean;
  bandwidthMib?: number;
}

const PREFLIGHT_TIMEOUT_MS = 20_000;
const ABORT_TIMEOUT_MS = 10_000;
const ABORT_RETRY_MS = 500;
const VERBOSE_PROGRESS = /Migration: \[\s*(\d{1,3}) %\]/g;

/** The virsh command, as an argument array, with named options only (no positional guessing). */
export function migrationCommand(plan: MigrationPlan): string[] {
  const { destination } = plan;
  return [
    'migrate',
    ...(plan.mode === 'live' ? ['--live'] : plan.mode === 'offline' ? ['--offline'] : []),
    // Without --undefinesource the source keeps a (shut-off) definition: a VM on two hosts.
    ...(plan.persistent ? ['--persistent', '--undefinesource'] : []),
    ...(plan.copyStorage ? ['--copy-storage-all'] : []),
    ...(plan.bandwidthMib ? ['--bandwidth', String(plan.bandwidthMib)] : []),
    // The stream to the destination is encrypted only when asked for; tls URIs ask.
    ...(destination.transport === 'tls' && plan.mode !== 'offline' ? ['--tls'] : []),
    '--verbose',
    '--domain',
    plan.name,
    '--desturi',
    destination.uri,
    // Without it the destination names its own hostname, which the source may not resolve
    // (or resolves to another address than the one the URI reached).
    ...(plan.mode === 'offline' ? [] : ['--migrateuri', destination.dataUri]),
  ];
}

export interface DestinationFacts {
  hostname: string;
}

/**
 * The destination answers, is not this host (libvirt host UUIDs differ), and has no
 * domain of that name. Nothing is changed anywhere when this throws.
 */
export async function checkDestination(plan: MigrationPlan, signal: AbortSignal): Promise<DestinationFacts> {
  const { destination, name } = plan;
  const [remote, local] = await Promise.all([
    runVirshBatch([['hostname'], ['capabilities'], ['domstate', name]], { uri: destination.uri, signal, timeoutMs: PREFLIGHT_TIMEOUT_MS }).catch(
      (error: unknown) => {
        if (error instanceof VirshError && !error.cancelled) {
          throw new HvError('HYPERVISOR_UNREACHABLE', `Destination ${destination.uri} does not answer: ${error.reason}`, {
            destination: destination.uri,
          });
        }
        throw error;
      },
    ),
    runVirsh(['capabilities'], { uri: plan.sourceUri, signal }),
  ]);
  const [hostname, capabilities, domstate] = remote;
  if (hostname?.error || capabilities?.error) {
    const failure = (hostname?.error ?? capabilities?.error)!;
    throw new HvError('HYPERVISOR_ERROR', `Destination ${destination.uri} answered with an error: ${failure.reason}`, { destination: destination.uri });
  }
  const remoteUuid = hostUuid(capabilities!.stdout);
  if (remoteUuid && remoteUuid === hostUuid(local)) {
    throw new HvError('INVALID_ARGUMENT', `Destination ${destination.uri} is this host itself (same libvirt host UUID ${remoteUuid})`, {
      destination: destination.uri,
    });
  }
  if (!domstate?.error) {
    throw new HvError('CONFLICT', `A domain named '${name}' already exists on ${destination.uri}`, { destination: destination.uri });
  }
  if (!isMissingDomain(domstate.error)) throw domstate.error;
  return { hostname: hostname!.stdout.trim() };
}

function hostUuid(capabilities: string): string | undefined {
  return /<host>\s*<uuid>([^<]+)<\/uuid>/.exec(capabilities)?.[1]?.trim().toLowerCase();
}

export interface MigrationRun {
  durationMs: number;
  /** Set when the migration was stopped with domjobabort before it completed. */
  aborted: boolean;
}

/**
 * Runs the migration, reporting virsh's `--verbose` percentage. At `abortAt` (or when the
 * request is cancelled) the libvirt job is aborted with domjobabort, which makes libvirt
 * resume the guest on the source; virsh then ends with an error. A migration that
 * completes in the same instant still counts as done: virsh's exit status decides.
 */
export async function runMigration(plan: MigrationPlan, abortAt: number, signal: AbortSignal, onPercent: (percent: number) => void): Promise<MigrationRun> {
  const command = migrationCommand(plan);
  const started = Date.now();
  let exited = false;
  let aborted = false;
  let abortLoop: Promise<void> | undefined;
  const abort = () => {
    abortLoop ??= (async () => {
      aborted = true;
      // Before the job exists on the source (still preparing the destination) there is
      // nothing to abort yet: repeat until virsh has ended.
      while (!exited) {
        await runVirsh(['domjobabort', plan.name], { uri: plan.sourceUri, timeoutMs: ABORT_TIMEOUT_MS }).catch(() => undefined);
        if (!exited) await sleep(ABORT_RETRY_MS);
      }
    })();
  };
  const timer = setTimeout(abort, Math.max(0, abortAt - Date.now()));
  signal.addEventListener('abort', abort, { once: true });
  let lastPercent = -1;
  try {
    const result = await runVirshWatched(command, plan.sourceUri, (chunk) => {
      for (const match of chunk.matchAll(VERBOSE_PROGRESS)) {
        const percent = Number(match[1]);
        if (percent !== lastPercent) onPercent((lastPercent = percent));
      }
    });
    exited = true;
    await abortLoop;
    if (result.exitCode === 0) return { durationMs: Date.now() - started, aborted: false };
    if (aborted) return { durationMs: Date.now() - started, aborted: true };
    // virsh's progress line shares stderr with the error: keep the error alone.
    throw watchedFailure(result, command, plan.sourceUri, result.stderr.replace(/\r?Migration: \[[^\]]*\]/g, '\n'));
  } finally {
    exited = true;
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}

/** Bytes the completed migration moved (memory and disks), as the destination's libvirt counted them. */
export async function transferredBytes(plan: MigrationPlan): Promise<number | null> {
  try {
    const stats = await runVirsh(['domjobinfo', '--completed', '--rawstats', plan.name], { uri: plan.destination.uri, timeoutMs: PREFLIGHT_TIMEOUT_MS });
    const value = /^data_processed:\s*(\d+)\s*$/m.exec(stats)?.[1];
    return value === undefined ? null : Number(value);
  } catch {
    return null;
  }
}
