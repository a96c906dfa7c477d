// readHostFacts against the test driver, the real qemu:///system and the daemon-less
// qemu:///embed, cross-checked against sources that do not go through libvirt.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuinfoHasHardwareVirtualisation } from '../../src/libvirt/hardware-virtualisation.js';
import { readHostFacts, type HostFacts } from '../../src/monitoring/host-facts.js';
import { VirshError } from '../../src/libvirt/virsh-error.js';
import { connectionAnswers, ensureSystemLibvirt } from './support/system-libvirt.js';
import { testWhen } from '../helpers/runs-here.js';

const unreachable = 'qemu+unix:///system?socket=/nonexistent/hvagent-test.sock';

function expectHostnameOfThisMachine(reported: string): void {
  // libvirt may canonicalise to a fully qualified name.
  expect([hostname(), ...(reported.startsWith(`${hostname()}.`) ? [reported] : [])]).toContain(reported);
}

function expectSelfConsistent(facts: HostFacts): void {
  const { cpu, memory, numa } = facts;
  expect(cpu.sockets * cpu.cores_per_socket * cpu.threads_per_core).toBe(cpu.total_cpus);
  expect(new Set(numa.map((cell) => cell.id)).size).toBe(numa.length);
  expect(numa.flatMap((cell) => cell.cpus).length).toBe(cpu.total_cpus);
  for (const cell of numa) if (cell.free_mb !== null) expect(cell.free_mb).toBeLessThanOrEqual(cell.memory_mb);
  expect(memory.free_mb).toBeGreaterThan(0);
  expect(memory.free_mb).toBeLessThanOrEqual(memory.total_mb);
}

/** Runs a copy of `virsh` that logs each invocation, to count processes. */
async function withCountingVirsh<T>(run: () => Promise<T>): Promise<{ result: T; uris: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'hvagent-virsh-shim-'));
  const log = join(dir, 'calls.log');
  const realVirsh = (await execa('sh', ['-c', 'command -v virsh'])).stdout.trim();
  writeFileSync(join(dir, 'virsh'), `#!/bin/sh\necho "$2" >> '${log}'\nexec '${realVirsh}' "$@"\n`);
  chmodSync(join(dir, 'virsh'), 0o755);
  const savedPath = process.env.PATH;
  process.env.PATH = `${dir}:${savedPath ?? ''}`;
  try {
    const result = await run();
    return { result, uris: readFileSync(log, 'utf8').trim().split('\n') };
  } finally {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('readHostFacts on the test driver (no daemon)', () => {
  it('reports the driver node consistently', async () => {
    const facts = await readHostFacts({ uri: 'test:///default' });
    expect(facts.hypervisor).toMatchObject({ uri: 'test:///default', driver: 'TEST' });
    expect(facts.hypervisor.libvirt_version).toMatch(/^\d+\.\d+\.\d+$/);
    expectHostnameOfThisMachine(facts.hostname);
    expectSelfConsistent(facts);
    // The test driver has no nodememstats: free memory comes from the NUMA cells.
    expect(facts.memory.free_mb).toBe(facts.numa.reduce((sum, cell) => sum + (cell.free_mb ?? 0), 0));
    // It offers only domain type "test": neither qemu nor kvm may be claimed.
    expect(facts.vm_classes).toEqual([]);
  });

  it('uses one virsh process, plus one for the LXC probe', async () => {
    const { result, uris } = await withCountingVirsh(() =>
      readHostFacts({ uri: 'test:///default', lxcUri: unreachable }),
    );
    expect(uris.sort()).toEqual([unreachable, 'test:///default'].sort());
    // An LXC connection that does not answer is a fact, not a failure.
    expect(result.vm_classes).not.toContain('lxc');
  });

  it('rejects with HYPERVISOR_UNREACHABLE when the main connection fails', async () => {
    const error = await readHostFacts({ uri: unreachable }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VirshError);
    expect((error as VirshError).code).toBe('HYPERVISOR_UNREACHABLE');
  });

  it('rejects with CANCELLED when the signal has fired', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await readHostFacts({ uri: 'test:///default', signal: controller.signal }).catch((e: unknown) => e);
    expect((error as VirshError).code).toBe('CANCELLED');
  });
});

describe('readHostFacts on the real qemu:///system', () => {
  let facts: HostFacts;
  const meminfo = (): Map<string, number> =>
    new Map(
      readFileSync('/proc/meminfo', 'utf8')
        .split('\n')
        .map((line) => /^(\w+):\s+(\d+) kB/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, Number(m[2])]),
    );

  beforeAll(async () => {
    await ensureSystemLibvirt();
    facts = await readHostFacts({ uri: 'qemu:///system', lxcUri: 'lxc:///' });
  }, 240_000);

  it('names this machine, the QEMU driver and the installed versions', async () => {
    expectHostnameOfThisMachine(facts.hostname);
    const qemu = await execa('qemu-system-x86_64', ['--version']);
    const libvirtd = await execa('libvirtd', ['--version']);
    expect(facts.hypervisor).toEqual({
      uri: 'qemu:///system',
      driver: 'QEMU',
      version: /version (\d+\.\d+\.\d+)/.exec(qemu.stdout)?.[1],
      libvirt_version: /(\d+\.\d+\.\d+)\s*$/.exec(libvirtd.stdout.trim())?.[1],
    });
  });

  it('counts the CPUs the kernel has online, on the arch it runs', async () => {
    const nproc = Number((await execa('nproc')).stdout);
    const machine = (await execa('uname', ['-m'])).stdout.trim();
    expect(facts.cpu.total_cpus).toBe(nproc);
    expect(facts.cpu.arch).toBe(machine);
    expect(facts.cpu.model.length).toBeGreaterThan(0);
    const cpuinfoMhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]);
    if (cpuinfoMhz > 0) expect(Math.abs(facts.cpu.mhz - cpuinfoMhz)).toBeLessThanOrEqual(cpuinfoMhz * 0.5);
    expectSelfConsistent(facts);
  });

  it('reports total memory as MemTotal and free memory close to MemFree', () => {
    const info = meminfo();
    expect(facts.memory.total_mb).toBe(Math.floor(info.get('MemTotal')! / 1024));
    // Free memory moves while tests run; allow 10% of total.
    const memFreeMb = info.get('MemFree')! / 1024;
    expect(Math.abs(facts.memory.free_mb - memFreeMb)).toBeLessThanOrEqual(facts.memory.total_mb * 0.1);
  });

  it('lists the NUMA cells sysfs lists, with their CPUs and memory', () => {
    const nodeDir = '/sys/devices/system/node';
    const nodes = existsSync(nodeDir)
      ? readdirSync(nodeDir).filter((name) => /^node\d+$/.test(name)).map((name) => Number(name.slice(4)))
      : [];
    if (nodes.length === 0) return; // a kernel without NUMA sysfs: nothing independent to compare
    expect(facts.numa.map((cell) => cell.id).sort()).toEqual(nodes.sort());
    for (const cell of facts.numa) {
      const cpulist = readFileSync(`${nodeDir}/node${cell.id}/cpulist`, 'utf8').trim();
      const cpus = cpulist.split(',').flatMap((range) => {
        const [from, to] = range.split('-').map(Number);
        return Array.from({ length: (to ?? from!) - from! + 1 }, (_, i) => from! + i);
      });
      expect(cell.cpus).toEqual(cpus);
      const nodeTotalKb = Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync(`${nodeDir}/node${cell.id}/meminfo`, 'utf8'))?.[1]);
      expect(cell.memory_mb).toBe(Math.floor(nodeTotalKb / 1024));
    }
  });

  it('offers qemu always, kvm only with VT-x/AMD-V, lxc only when lxc:/// answers', async () => {
    const hardwareVirt = cpuinfoHasHardwareVirtualisation(readFileSync('/proc/cpuinfo', 'utf8'));
    expect(facts.vm_classes).toContain('qemu');
    expect(facts.vm_classes.includes('kvm')).toBe(hardwareVirt);
    expect(facts.vm_classes.includes('lxc')).toBe(await connectionAnswers('lxc:///'));
  });

  it('reads the real host in one virsh process per connection: one batch for QEMU, one probe for LXC', async () => {
    const { result, uris } = await withCountingVirsh(() => readHostFacts({ uri: 'qemu:///system', lxcUri: 'lxc:///' }));
    expect(result.cpu.total_cpus).toBe(facts.cpu.total_cpus);
    expect(uris.sort()).toEqual(['lxc:///', 'qemu:///system']);
  });
});

describe('readHostFacts on qemu:///embed (no libvirtd at all)', () => {
  const isRoot = process.getuid?.() === 0;
  const canUnshare = isRoot && existsSync('/usr/bin/unshare');

  testWhen(canUnshare, 'hiding libvirtd needs root and unshare (util-linux) for a private mount namespace')(
    'works in a mount namespace where libvirtd cannot be reached',
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'hvagent-embed-'));
      try {
        // Without this, the embedded driver wants virtlogd's socket.
        mkdirSync(join(root, 'etc'));
        writeFileSync(join(root, 'etc', 'qemu.conf'), 'stdio_handler = "file"\n');
        const bundle = join(root, 'print-host-facts.mjs');
        await build({
          entryPoints: [fileURLToPath(new URL('./support/print-host-facts.ts', import.meta.url))],
          bundle: true,
          platform: 'node',
          format: 'esm',
          outfile: bundle,
          logLevel: 'error',
          // execa's CommonJS dependencies call require(), which ESM output lacks.
          banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
        });
        const uri = `qemu:///embed?root=${root}`;
        // An empty tmpfs over /run/libvirt hides every libvirt daemon socket.
        const ran = await execa(
          'unshare',
          ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /run/libvirt && exec "$0" "$@"',
            process.execPath, bundle, uri],
          { reject: false, timeout: 180_000 },
        );
        expect(ran.stderr).toBe('');
        const facts = JSON.parse(ran.stdout) as HostFacts;
        expect(facts.hypervisor).toMatchObject({ uri, driver: 'QEMU' });
        expect(facts.cpu.total_cpus).toBe(Number((await execa('nproc')).stdout));
        expect(facts.vm_classes).toContain('qemu');
        expectSelfConsistent(facts);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
    240_000,
  );
});
