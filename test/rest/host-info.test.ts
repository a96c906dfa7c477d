// host info through hvagent serve: the server keeps the hypervisor and the topology, and
// reads free memory per request without starting a process, so a fleet polling it costs
// no virsh and never sees memory older than its request.
import { execa, type ResultPromise } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePki, startServer, type TestServer } from './helpers.js';

let dir: string;
let server: TestServer;
let calls: string;
let hog: ResultPromise | undefined;

const memFreeMb = (): number => Math.floor(Number(/^MemFree:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-share-host-info-'));
  // A virsh ahead of the real one on the server's PATH that notes each start.
  const shim = join(dir, 'bin');
  mkdirSync(shim);
  calls = join(dir, 'virsh-calls.log');
  const realVirsh = (await execa('sh', ['-c', 'command -v virsh'])).stdout.trim();
  writeFileSync(join(shim, 'virsh'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${realVirsh}' "$@"\n`);
  chmodSync(join(shim, 'virsh'), 0o755);
  server = await startServer({ pki: makePki(join(dir, 'pki')), dir: join(dir, 'server'), env: { PATH: `${shim}:${process.env.PATH ?? '/usr/bin:/bin'}` } });
}, 120_000);

afterAll(async () => {
  hog?.kill('SIGKILL');
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const hostInfo = async () => {
  const answer = await server.unix('POST', '/v1/host/info', {});
  expect([answer.status, answer.json.statuscode]).toEqual([200, 0]);
  return answer.json.data as { memory: { total_mb: number; free_mb: number }; numa: { free_mb: number | null }[]; cpu: { total_cpus: number } };
};

/** The reply's free memory lies between what /proc said just before and just after it (others' guests move it too). */
async function expectFreshFreeMemory() {
  const before = memFreeMb();
  const info = await hostInfo();
  const after = memFreeMb();
  const slack = 128; // MiB: far less than the 512 MiB taken below, more than others move in a request
  expect(info.memory.free_mb).toBeGreaterThanOrEqual(Math.min(before, after) - slack);
  expect(info.memory.free_mb).toBeLessThanOrEqual(Math.max(before, after) + slack);
  return info;
}

test('after the first read, host info starts no process, and its free memory is that of the request', async () => {
  const first = await hostInfo();
  expect(readFileSync(calls, 'utf8')).toMatch(/capabilities/); // the first read asks libvirt
  writeFileSync(calls, '');

  await expectFreshFreeMemory();
  // Half a GiB taken between two requests: a reply kept from before would not show it.
  hog = execa(process.execPath, ['-e', "globalThis.kept = Buffer.alloc(512 * 1024 * 1024, 1); console.log('held'); setInterval(() => {}, 1000)"], { stdin: 'ignore' });
  await new Promise<void>((resolve) => hog!.stdout!.once('data', () => resolve()));
  const during = await expectFreshFreeMemory();
  hog.kill('SIGKILL');
  await hog.catch(() => undefined);
  hog = undefined;
  const later = await expectFreshFreeMemory();

  expect(during.cpu).toEqual(first.cpu);
  expect(later.numa.length).toBe(first.numa.length);
  expect(readFileSync(calls, 'utf8')).toBe('');
}, 120_000);
