import { parseEventLine } from '../../../src/libvirt/events.js';

// Lines as `virsh event --all --loop --timestamp` prints them (libvirt 9.0, recorded on the
// development machine with a domain defined, started, paused, resumed, destroyed, undefined).
describe('virsh event lines', () => {
  test.each([
    ["2026-11-25 18:51:44.575+0000: event 'lifecycle' for domain 'rest-evprobe': Defined Added", 'defined'],
    ["2026-11-25 18:51:45.552+0000: event 'lifecycle' for domain 'rest-evprobe': Started Booted", 'started'],
    ["2026-11-25 18:51:45.607+0000: event 'lifecycle' for domain 'rest-evprobe': Suspended Paused", 'suspended'],
    ["2026-11-25 18:51:45.652+0000: event 'lifecycle' for domain 'rest-evprobe': Resumed Unpaused", 'resumed'],
    ["2026-11-25 18:51:47.700+0000: event 'lifecycle' for domain 'rest-evprobe': Shutdown Finished after host request", 'shutdown'],
    ["2026-11-25 18:51:47.710+0000: event 'lifecycle' for domain 'rest-evprobe': Stopped Destroyed", 'stopped'],
    ["2026-11-25 18:51:47.710+0000: event 'lifecycle' for domain 'rest-evprobe': Stopped Crashed", 'crashed'],
    ["2026-11-25 18:51:47.748+0000: event 'lifecycle' for domain 'rest-evprobe': Undefined Removed", 'undefined'],
  ])('%s → %s', (line, lifecycle) => {
    expect(parseEventLine(line)).toMatchObject({ event: 'lifecycle', domain: 'rest-evprobe', lifecycle });
  });

  test('the timestamp becomes ISO 8601 UTC, with its offset applied', () => {
    expect(parseEventLine("2026-11-25 18:51:44.575+0100: event 'lifecycle' for domain 'a': Defined Added")?.time).toBe('2026-11-25T17:51:44.575Z');
  });

  test('other events keep their name and detail but have no lifecycle; continuation lines and noise are ignored', () => {
    expect(parseEventLine("2026-11-25 18:51:44.575+0000: event 'reboot' for domain 'web01'")).toMatchObject({ event: 'reboot', domain: 'web01', lifecycle: null, detail: null });
    expect(parseEventLine("2026-11-25 18:51:44.575+0000: event 'balloon-change' for domain 'web01': 524288KiB")).toMatchObject({ event: 'balloon-change', lifecycle: null, detail: '524288KiB' });
    expect(parseEventLine('\tcputune.vcpu_period: 100000')).toBeNull();
    expect(parseEventLine('events received: 3')).toBeNull();
  });
});
