import { parseDomstats } from '../../../src/vm/list.js';

describe('vm list parsers (output captured from virsh 9.0)', () => {
  test('domstats: state, vCPUs and memory of running and shut-off guests', () => {
    const text = [
      "Domain: 'web01'",
      '  state.state=1',
      '  state.reason=1',
      '  balloon.current=196608',
      '  balloon.maximum=262144',
      '  vcpu.current=1',
      '  vcpu.maximum=2',
      '',
      "Domain: 'db.old-2'",
      '  state.state=5',
      '  state.reason=0',
      '  balloon.maximum=524288',
      '  vcpu.current=2',
      '  vcpu.maximum=2',
      '',
    ].join('\n');
    expect(parseDomstats(text)).toEqual([
      { name: 'web01', driver: 'qemu', state: 'running', vcpus: 1, memory_mb: 192 },
      { name: 'db.old-2', driver: 'qemu', state: 'shutoff', vcpus: 2, memory_mb: 512 },
    ]);
    expect(parseDomstats('')).toEqual([]);
  });
});
