import { migrationCommand, type MigrationPlan } from '../../../src/vm/migration/run.js';
import { parseDestination } from '../../../src/vm/migration/destination.js';

describe('migration destination', () => {
  test.each([
    ['qemu+tcp://10.99.0.2/system', { transport: 'tcp', host: '10.99.0.2', dataUri: 'tcp://10.99.0.2' }],
    ['qemu+tcp://host2.example.net:16510/system', { transport: 'tcp', host: 'host2.example.net', port: 16510, dataUri: 'tcp://host2.example.net' }],
    ['qemu+ssh://root@Host2.Example.NET/system', { transport: 'ssh', user: 'root', host: 'host2.example.net', dataUri: 'tcp://host2.example.net' }],
    ['qemu+tls://[fd00::2]/system', { transport: 'tls', host: 'fd00::2', dataUri: 'tcp://[fd00::2]' }],
  ])('%s is accepted', (uri, expected) => {
    expect(parseDestination(uri)).toEqual({ uri, ...expected });
  });

  test.each([
    ['qemu:///system', /is not a libvirt URI/],
    ['qemu+unix:///system', /is not a libvirt URI/],
    ['qemu+tcp://host2/session', /is not a libvirt URI/],
    ['qemu+tcp://host2/system?keyfile=/root/.ssh/id', /is not a libvirt URI/],
    ['qemu+ssh://host2/system?command=sh', /is not a libvirt URI/],
    ['qemu+tcp://host2/system;reboot', /is not a libvirt URI/],
    ['qemu+tcp://$(reboot)/system', /is not a libvirt URI/],
    ['qemu+tcp://host2 /system', /is not a libvirt URI/],
    ['qemu+tcp://host2/system\n', /is not a libvirt URI/],
    ['lxc+tcp://host2/system', /is not a libvirt URI/],
    ['qemu+tcp://-host2/system', /is not a libvirt URI/],
    ['qemu+tcp://host2-.example/system', /not a valid host name/],
    ['qemu+tcp://a..b/system', /not a valid host name/],
    ['qemu+tcp://300.1.1.1/system', /not an IPv4 address/],
    ['qemu+tcp://[fd00::zz]/system', /is not a libvirt URI/],
    ['qemu+tcp://[1.2.3.4]/system', /not an IPv6 address/],
    ['qemu+tcp://host2:0/system', /outside 1-65535/],
    ['qemu+tcp://host2:70000/system', /outside 1-65535/],
    ['qemu+tcp://root@host2/system', /only the ssh transport/],
    ['qemu+tcp://localhost/system', /this host itself/],
    ['qemu+tcp://127.0.0.1/system', /this host itself/],
    ['qemu+ssh://127.1.2.3/system', /this host itself/],
    ['qemu+tcp://[::1]/system', /this host itself/],
    ['qemu+tcp://0.0.0.0/system', /this host itself/],
  ])('%j is refused', (uri, why) => {
    expect(() => parseDestination(uri)).toThrow(why);
    try {
      parseDestination(uri);
    } catch (error) {
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', statuscode: 4 });
    }
  });
});

describe('migration command', () => {
  const plan = (overrides: Partial<MigrationPlan> = {}): MigrationPlan => ({
    name: 'web01',
    sourceUri: 'qemu:///system',
    destination: parseDestination('qemu+tcp://10.99.0.2/system'),
    mode: 'live',
    copyStorage: false,
    persistent: true,
    ...overrides,
  });

  test('a live persistent migration over tcp', () => {
    expect(migrationCommand(plan())).toEqual([
      'migrate', '--live', '--persistent', '--undefinesource', '--verbose',
      '--domain', 'web01', '--desturi', 'qemu+tcp://10.99.0.2/system', '--migrateuri', 'tcp://10.99.0.2',
    ]);
  });

  test('storage copy, bandwidth, a transient destination, tls', () => {
    const command = migrationCommand(plan({ copyStorage: true, bandwidthMib: 8, persistent: false, destination: parseDestination('qemu+tls://h2/system') }));
    expect(command).toEqual([
      'migrate', '--live', '--copy-storage-all', '--bandwidth', '8', '--tls', '--verbose',
      '--domain', 'web01', '--desturi', 'qemu+tls://h2/system', '--migrateuri', 'tcp://h2',
    ]);
  });

  test('paused and offline moves', () => {
    expect(migrationCommand(plan({ mode: 'paused' }))).not.toContain('--live');
    const offline = migrationCommand(plan({ mode: 'offline' }));
    expect(offline.slice(0, 4)).toEqual(['migrate', '--offline', '--persistent', '--undefinesource']);
    expect(offline).not.toContain('--migrateuri');
  });
});
