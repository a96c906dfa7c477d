// Parsers against output captured from the real virsh 9.0 on the CI machine
// (test/unit/libvirt/fixtures/qemu-system-*: QEMU driver; test-default-*: test driver).
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { cpuinfoHasHardwareVirtualisation } from '../../../src/libvirt/hardware-virtualisation.js';
import { parseCapabilities } from '../../../src/libvirt/parse/capabilities.js';
import { parseFreecellAll, parseNodeMemStats } from '../../../src/libvirt/parse/free-memory.js';
import { VirshParseError } from '../../../src/libvirt/parse/key-value-lines.js';
import { parseNodeInfo } from '../../../src/libvirt/parse/nodeinfo.js';
import { parseVersion } from '../../../src/libvirt/parse/version.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('parseNodeInfo', () => {
  it('reads the QEMU host', () => {
    expect(parseNodeInfo(fixture('qemu-system-nodeinfo.txt'))).toEqual({
      cpuModel: 'x86_64',
      cpus: 2,
      mhz: 2596,
      socketsPerCell: 1,
      coresPerSocket: 2,
      threadsPerCore: 1,
      numaCells: 1,
      memoryKiB: 4679896,
    });
  });

  it('reads the test driver node', () => {
    expect(parseNodeInfo(fixture('test-default-nodeinfo.txt'))).toMatchObject({ cpuModel: 'i686', cpus: 16, numaCells: 2 });
  });

  it('names the missing field and quotes the output', () => {
    expect(() => parseNodeInfo('CPU model: x86_64\n')).toThrow(VirshParseError);
    expect(() => parseNodeInfo('CPU model: x86_64\n')).toThrow(/missing "cpu\(s\)".*CPU model: x86_64/);
    const wrongUnit = fixture('qemu-system-nodeinfo.txt').replace('KiB', 'MiB');
    expect(() => parseNodeInfo(wrongUnit)).toThrow(/"memory size" is "4679896 MiB", expected an integer in KiB/);
  });
});

describe('parseVersion', () => {
  it('reads library, API and running hypervisor', () => {
    expect(parseVersion(fixture('qemu-system-version.txt'))).toEqual({
      libraryVersion: '9.0.0',
      api: { name: 'QEMU', version: '9.0.0' },
      hypervisor: { name: 'QEMU', version: '7.2.22' },
    });
    expect(parseVersion(fixture('test-default-version.txt')).hypervisor).toEqual({ name: 'TEST', version: '0.0.2' });
  });

  it('leaves hypervisor out when the driver reports none', () => {
    const text = 'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: LXC 9.0.0\n';
    expect(parseVersion(text)).toEqual({ libraryVersion: '9.0.0', api: { name: 'LXC', version: '9.0.0' } });
  });

  it('refuses output without the library line', () => {
    expect(() => parseVersion('Running hypervisor: QEMU 7.2.22\n')).toThrow(VirshParseError);
  });
});

describe('parseCapabilities', () => {
  it('reads host CPU, NUMA cells and guests of the QEMU host', () => {
    const caps = parseCapabilities(fixture('qemu-system-capabilities.txt'));
    expect(caps.hostCpu).toEqual({
      arch: 'x86_64',
      model: 'kvm64',
      vendor: 'AMD',
      topology: { sockets: 1, dies: 1, cores: 2, threads: 1 },
    });
    expect(caps.numaCells).toEqual([{ id: 0, memoryKiB: 4679896, cpuIds: [0, 1] }]);
    expect(caps.guests).toEqual([
      { osType: 'hvm', arch: 'i686', domainTypes: ['qemu', 'kvm'] },
      { osType: 'hvm', arch: 'x86_64', domainTypes: ['qemu', 'kvm'] },
    ]);
  });

  it('reads the test driver: no model or topology, two cells, test guests', () => {
    const caps = parseCapabilities(fixture('test-default-capabilities.txt'));
    expect(caps.hostCpu).toEqual({ arch: 'i686' });
    expect(caps.numaCells.map((c) => [c.id, c.memoryKiB, c.cpuIds.length])).toEqual([
      [0, 2097152, 8],
      [1, 4194304, 8],
    ]);
    expect(new Set(caps.guests.flatMap((g) => g.domainTypes))).toEqual(new Set(['test']));
  });

  it('keeps single children as lists and converts memory units', () => {
    const xml = `<capabilities><host><cpu><arch>aarch64</arch></cpu><topology><cells num='1'>
      <cell id='3'><memory unit='MiB'>2</memory><cpus num='1'><cpu id='7'/></cpus></cell>
      </cells></topology></host><guest><os_type>exe</os_type><arch name='aarch64'><domain type='lxc'/></arch></guest>
      </capabilities>`;
    const caps = parseCapabilities(xml);
    expect(caps.numaCells).toEqual([{ id: 3, memoryKiB: 2048, cpuIds: [7] }]);
    expect(caps.guests).toEqual([{ osType: 'exe', arch: 'aarch64', domainTypes: ['lxc'] }]);
  });

  it('refuses XML that is not libvirt capabilities', () => {
    expect(() => parseCapabilities('<domain/>')).toThrow(/missing <capabilities><host><cpu><arch>/);
    expect(() => parseCapabilities('<capabilities><host><cpu><arch>x</arch></cpu><topology><cells><cell id="x"/></cells></topology></host></capabilities>'))
      .toThrow(/NUMA cell id is "x"/);
  });
});

describe('free memory', () => {
  it('parses freecell --all per cell and in total', () => {
    const qemu = parseFreecellAll(fixture('qemu-system-freecell_all.txt'));
    expect([...qemu.cells]).toEqual([[0, 4278576]]);
    expect(qemu.totalKiB).toBe(4278576);
    const test = parseFreecellAll(fixture('test-default-freecell_all.txt'));
    expect([...test.cells]).toEqual([
      [0, 2048],
      [1, 4096],
    ]);
    expect(test.totalKiB).toBe(6144);
  });

  it('parses nodememstats', () => {
    expect(parseNodeMemStats(fixture('qemu-system-nodememstats.txt'))).toEqual({
      totalKiB: 24684096,
      freeKiB: 24283900,
      buffersKiB: 2420,
      cachedKiB: 169376,
    });
  });

  it('refuses output without totals', () => {
    expect(() => parseFreecellAll('    0:    1 KiB\n')).toThrow(/missing "Total:"/);
    expect(() => parseNodeMemStats('total : 1 KiB\n')).toThrow(/missing "free"/);
  });
});

describe('cpuinfoHasHardwareVirtualisation', () => {
  it('looks for vmx or svm as whole flags', () => {
    expect(cpuinfoHasHardwareVirtualisation('processor\t: 0\nflags\t\t: fpu vme svm lm\n')).toBe(true);
    expect(cpuinfoHasHardwareVirtualisation('flags\t\t: fpu vmx\n')).toBe(true);
    expect(cpuinfoHasHardwareVirtualisation('flags\t\t: fpu vmxnot svmx hypervisor\n')).toBe(false);
    expect(cpuinfoHasHardwareVirtualisation('model name\t: svm vmx\nflags\t\t: fpu\n')).toBe(false);
    expect(cpuinfoHasHardwareVirtualisation('')).toBe(false);
  });
});
