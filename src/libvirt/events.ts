import { runProcess } from '../process/run.js';

// libvirt's own event stream, read from one long-lived `virsh event --all --loop
// --timestamp` per connection: every domain event libvirtd emits (lifecycle, reboot,
// balloon, device, metadata…), however the change was made (hvagent, plain virsh, the
// guest). A child that ends (libvirtd restarted) is started again after a pause.

export type VmLifecycle = 'defined' | 'undefined' | 'started' | 'stopped' | 'crashed' | 'suspended' | 'resumed' | 'shutdown' | 'pmsuspended';

export interface DomainEvent {
  /** libvirt's event name: lifecycle, reboot, balloon-change, tunable, … */
  readonly event: string;
  readonly domain: string;
  /** For lifecycle events: what happened to the VM. */
  readonly lifecycle: VmLifecycle | null;
  /** libvirt's words after the colon (`Stopped Destroyed`), or null. */
  readonly detail: string | null;
  /** ISO 8601, from libvirt's timestamp. */
  readonly time: string;
}

const LINE = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d{4}): event '([a-z0-9-]+)' for domain '(.*?)'(?:: (.*))?$/;

const LIFECYCLE: Record<string, VmLifecycle> = {
  Defined: 'defined',
  Undefined: 'undefined',
  Started: 'started',
  Stopped: 'stopped',
  Crashed: 'crashed',
  Suspended: 'suspended',
  Resumed: 'resumed',
  Shutdown: 'shutdown',
  PMSuspended: 'pmsuspended',
};

/** One line of `virsh event --timestamp` output, or null for anything else (continuation lines). */
export function parseEventLine(line: string): DomainEvent | null {
  const match = LINE.exec(line.trimEnd());
  if (!match) return null;
  const [, date, clock, zone, event, domain, detail] = match as unknown as string[];
  const time = new Date(`${date}T${clock}${zone!.slice(0, 3)}:${zone!.slice(3)}`);
  let lifecycle: VmLifecycle | null = null;
  if (event === 'lifecycle' && detail) {
    const [kind, reason] = detail.split(' ');
    lifecycle = kind === 'Stopped' && reason === 'Crashed' ? 'crashed' : (LIFECYCLE[kind!] ?? null);
  }
  return { event: event!, domain: domain!, lifecycle, detail: detail ?? null, time: Number.isNaN(time.getTime()) ? new Date().toISOString() : time.toISOString() };
}

export interface EventWatch {
  /** Whether the stream runs now (a change may go unseen while it does not). */
  readonly live: () => boolean;
  readonly stop: () => void;
}

export interface WatchOptions {
  readonly onEvent: (event: DomainEvent) => void;
  /** The stream started or stopped: while it is down, nothing that changes is seen. */
  readonly onState?: (live: boolean) => void;
  readonly restartMs?: number;
}

/** Follows one connection's domain events until stop(). */
export function watchDomainEvents(uri: string, options: WatchOptions): EventWatch {
  const controller = new AbortController();
  let live = false;
  let pending = '';
  const setLive = (value: boolean) => {
    if (live !== value) options.onState?.(value);
    live = value;
  };
  const onStdout = (chunk: string) => {
    // virsh prints nothing before the first event: seeing output at all proves the stream works.
    setLive(true);
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const event = parseEventLine(line);
      if (event) options.onEvent(event);
    }
  };
  const run = async () => {
    while (!controller.signal.aborted) {
      // Started: virsh has connected once it stays up; a failure to connect ends it at once.
      const started = setTimeout(() => setLive(true), 1000);
      try {
        await runProcess('virsh', ['-c', uri, 'event', '--all', '--loop', '--timestamp'], { signal: controller.signal, stream: true, onStdout, allowNonZeroExit: true });
      } catch {
        // cancelled, or virsh missing: the loop decides
      } finally {
        clearTimeout(started);
      }
      setLive(false);
      pending = '';
      if (controller.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, options.restartMs ?? 2000).unref());
    }
  };
  void run();
  return { live: () => live, stop: () => controller.abort() };
}
