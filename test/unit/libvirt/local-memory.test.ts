// Free memory read where libvirt reads it, against files shaped like this kernel's
// /proc/meminfo and /sys/devices/system/node/node<N>/meminfo (values made up here).
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionIsOnThisMachine, readLocalFreeMemory } from '../../../src/libvirt/local-memory.js';

const root = mkdtempSync(join(tmpdir(), 'fleet-share-memory-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function host(name: string, nodes: Record<number, number>): { meminfo: string; nodeDir: string } {
  const dir = join(root, name);
  mkdirSync(join(dir, 'node'), { recursive: true });
  writeFileSync(join(dir, 'meminfo'), 'MemTotal:       24683656 kB\nMemFree:        19427588 kB\nMemAvailable:   21000000 kB\n');
  for (const [id, free] of Object.entries(nodes)) {
    mkdirSync(join(dir, 'node', `node${id}`));
    writeFileSync(join(dir, 'node', `node${id}`, 'meminfo'), `Node ${id} MemTotal:       12000000 kB\nNode ${id} MemFree:        ${free} kB\nNode ${id} MemUsed:         1000 kB\n`);
  }
  return { meminfo: join(dir, 'meminfo'), nodeDir: join(dir, 'node') };
}

describe('readLocalFreeMemory', () => {
  it('reads MemTotal and MemFree, and each cell its own MemFree', () => {
    const free = readLocalFreeMemory([0, 1], host('two-cells', { 0: 6895056, 1: 12532532 }));
    expect(free.totalKiB).toBe(24683656);
    expect(free.freeKiB).toBe(19427588);
    expect([...free.cells]).toEqual([[0, 6895056], [1, 12532532]]);
  });

  it('gives the only cell of a kernel without NUMA sysfs the host figure, as libvirt does', () => {
    expect([...readLocalFreeMemory([0], host('no-numa', {})).cells]).toEqual([[0, 19427588]]);
  });

  it('leaves out a cell of several whose file is missing (reported as null above)', () => {
    expect([...readLocalFreeMemory([0, 1], host('one-missing', { 0: 100 })).cells]).toEqual([[0, 100]]);
  });

  it('reads the figures as of each call, not as of the first', () => {
    const paths = host('changing', { 0: 500 });
    expect(readLocalFreeMemory([0], paths).freeKiB).toBe(19427588);
    writeFileSync(paths.meminfo, 'MemTotal:       24683656 kB\nMemFree:        1234 kB\n');
    writeFileSync(join(paths.nodeDir, 'node0', 'meminfo'), 'Node 0 MemFree:        77 kB\n');
    const later = readLocalFreeMemory([0], paths);
    expect(later.freeKiB).toBe(1234);
    expect(later.cells.get(0)).toBe(77);
  });

  it('names the file when a line is missing', () => {
    const paths = host('broken', {});
    writeFileSync(paths.meminfo, 'MemTotal: 1 kB\n');
    expect(() => readLocalFreeMemory([0], paths)).toThrow(`${paths.meminfo} has no MemFree line`);
  });
});

describe('connectionIsOnThisMachine', () => {
  it.each([
    ['qemu:///system', true],
    ['qemu:///session', true],
    ['lxc:///', true],
    ['qemu+unix:///system?socket=/run/x/libvirt-sock', true],
    ['qemu:///embed?root=/var/lib/x', true],
    ['qemu+tcp://10.99.0.2/system', false],
    ['qemu+ssh://root@host2/system', false],
    ['qemu://host2/system', false],
    ['test:///default', false],
    ['qemu+ext:///system?command=/bin/x', false],
    ['not a uri', false],
  ])('%s: %s', (uri, expected) => {
    expect(connectionIsOnThisMachine(uri)).toBe(expected);
  });
});
