// What a client of hvagent serve builds on: the OpenAPI document (checked by a real
// validator, turned into a typed client by openapi-typescript that is compiled with tsc and
// run with openapi-fetch against the server), the event stream (a VM started with plain
// virsh shows up; a reader that does not read is dropped while others are not) and the
// metrics. The only VM is a disk-less domain defined and started with virsh.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';
import { virsh, waitFor, QEMU_URI } from '../vm/helpers.js';
import { makePki, removeRestVms, restVmName, sha256, startServer, type Pki, type TestServer } from './helpers.js';

const TOKEN = 'api-token-0123456789abcdef';
let dir: string;
let pki: Pki;
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(REPO, 'build', 'rest-api-'));
  pki = makePki(join(dir, 'pki'));
  server = await startServer({ pki, config: { server: { tokens: [{ caller: 'api', sha256: sha256(TOKEN) }], max_event_backlog: 200, max_concurrent_per_caller: 2000 } } });
});

afterAll(async () => {
  await server?.stop();
  await removeRestVms();
  rmSync(dir, { recursive: true, force: true });
});

/** A disk-less guest that boots nowhere: enough for libvirt to start and stop it. */
async function defineWithVirsh(name: string): Promise<void> {
  const xml = join(dir, `${name}.xml`);
  writeFileSync(xml, `<domain type='qemu'><name>${name}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices></devices></domain>`);
  await virsh(QEMU_URI, ['define', xml]);
}

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads /v1/events over the unix socket, collecting events until closed. */
function follow(query: string): { events: SseEvent[]; close: () => void; ready: Promise<void> } {
  const events: SseEvent[] = [];
  let pending = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const request = httpRequest({ socketPath: server.socket, path: `/v1/events${query}` }, (response) => {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      pending += chunk;
      const blocks = pending.split('\n\n');
      pending = blocks.pop() ?? '';
      for (const block of blocks) {
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === 'ready') markReady();
        else if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
      }
    });
  });
  request.on('error', () => undefined);
  request.end();
  return { events, close: () => request.destroy(), ready };
}

describe('events', () => {
  test('a VM defined, started, stopped and undefined with plain virsh shows up in /v1/events, filtered to it', async () => {
    const name = restVmName();
    const other = follow('?types=vm&target=rest-nobody-else');
    const stream = follow(`?types=vm&target=${name}`);
    await Promise.all([stream.ready, other.ready]);
    await defineWithVirsh(name);
    await virsh(QEMU_URI, ['start', name]);
    await waitFor(() => stream.events.some((event) => event.data.name === 'started'), 'the started event', 60_000);
    await virsh(QEMU_URI, ['destroy', name]);
    await virsh(QEMU_URI, ['undefine', name]);
    await waitFor(() => stream.events.some((event) => event.data.name === 'undefined'), 'the undefined event', 60_000);
    stream.close();
    other.close();
    expect(stream.events.map((event) => event.data.name)).toEqual(expect.arrayContaining(['defined', 'started', 'stopped', 'undefined']));
    expect(new Set(stream.events.map((event) => [event.event, event.data.type, event.data.target].join(' ')))).toEqual(new Set([`vm vm ${name}`]));
    expect(other.events).toEqual([]);
  });

  test('a reader that stops reading is dropped at its backlog; a reader that reads gets every event, and the server goes on', async () => {
    const reading = follow('?types=operation');
    await reading.ready;
    const stalled = connect(server.socket);
    let received = '';
    stalled.setEncoding('utf8');
    stalled.on('data', (chunk: string) => (received += chunk));
    const closed = new Promise<void>((resolve) => stalled.on('close', () => resolve()));
    stalled.write('GET /v1/events?types=operation HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => received.includes('event: ready'), 'the stalled reader to be subscribed', 30_000);
    stalled.pause();
    // In rounds, so that the reading reader is never further behind than a round.
    const started = [];
    for (let round = 0; round < 12; round += 1) {
      started.push(...(await Promise.all(Array.from({ length: 50 }, () => server.unix('POST', '/v1/host/agent_info?async=true')))));
    }
    expect(started.every((answer) => answer.status === 202)).toBe(true);
    const ids = new Set(started.map((answer) => (answer.json.data as { id: string }).id));
    await waitFor(() => [...ids].every((id) => reading.events.some((event) => event.data.name === 'succeeded' && (event.data.data as { id: string }).id === id)), 'every operation to be reported', 120_000);
    reading.close();
    stalled.resume();
    await closed;
    expect(received).toContain('event: dropped');
    expect(received).toMatch(/fell 200 events behind/);
    expect((await server.unix('GET', '/v1/host/agent')).status).toBe(200);
  }, 480_000); // 600 operations: minutes on a loaded 2-CPU machine
});

describe('metrics', () => {
  test('GET /metrics is OpenMetrics text with the host and each VM', async () => {
    const name = restVmName();
    await defineWithVirsh(name);
    await virsh(QEMU_URI, ['start', name]);
    const answer = await server.tls('/metrics', { token: TOKEN });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(answer.text).toMatch(/^hvagent_up 1$/m);
    expect(answer.text).toMatch(/^# TYPE hvagent_host_cpus gauge$/m);
    expect(answer.text).toMatch(/^hvagent_host_memory_bytes\{kind="total"\} \d+$/m);
    expect(answer.text).toMatch(new RegExp(`^hvagent_vm_running\\{vm="${name}",driver="qemu"\\} 1$`, 'm'));
    expect(answer.text).toMatch(new RegExp(`^hvagent_vm_cpu_seconds_total\\{vm="${name}",driver="qemu"\\} [\\d.]+$`, 'm'));
    expect(answer.text.endsWith('# EOF\n')).toBe(true);
    const cpus = Number(/^hvagent_host_cpus (\d+)$/m.exec(answer.text)?.[1]);
    expect(cpus).toBe(Number(execFileSync('nproc', { encoding: 'utf8' }).trim()));
  });
});

describe('OpenAPI', () => {
  let specFile: string;

  beforeAll(async () => {
    const answer = await server.tls('/v1/openapi.json', { token: TOKEN });
    expect(answer.status).toBe(200);
    specFile = join(dir, 'openapi.json');
    writeFileSync(specFile, answer.text);
  });

  test('the document passes a real OpenAPI 3.1 validator', () => {
    const output = execFileSync(join(REPO, 'node_modules/.bin/validate-api'), [specFile], { encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ valid: true });
  });

  test('a client generated from it (openapi-typescript), compiled with tsc, calls the running server (openapi-fetch)', async () => {
    const name = restVmName();
    await defineWithVirsh(name);
    execFileSync(join(REPO, 'node_modules/.bin/openapi-typescript'), [specFile, '-o', join(dir, 'api.d.ts')], { stdio: 'pipe' });
    writeFileSync(
      join(dir, 'client.mts'),
      `import createClient from 'openapi-fetch';
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import type { paths } from './api.js';

const dispatcher = new Agent({ connect: { ca: readFileSync(process.env.CA!) } });
const client = createClient<paths>({
  baseUrl: process.env.URL!,
  headers: { Authorization: \`Bearer \${process.env.TOKEN}\` },
  fetch: (request: Request) => fetch(request, { dispatcher } as RequestInit),
});
const host = await client.GET('/v1/host/agent');
const one = await client.GET('/v1/vms/{name}', { params: { path: { name: process.env.VM! } } });
const list = await client.GET('/v1/vms', { params: { query: { state: 'shutoff' } } });
const missing = await client.GET('/v1/vms/{name}', { params: { path: { name: 'rest-no-such-vm' } } });
const started = await client.POST('/v1/vm/start', { body: { name: 'rest-no-such-vm' } });
// @ts-expect-error: the DDL's list of states is the type
void client.GET('/v1/vms', { params: { query: { state: 'sleeping' } } });
const protocol: string | null | undefined = host.data?.data.protocol;
const vmClass: string | null | undefined = one.data?.data.vm_class;
const names: string[] = (list.data?.data.vms ?? []).map((vm) => (vm as { name: string }).name);
console.log(JSON.stringify({ protocol, vmClass, listed: names.includes(process.env.VM!), missing: [missing.response.status, missing.error?.data.error_code], start: started.error?.data.error_code }));
`,
    );
    const tsc = join(REPO, 'node_modules/.bin/tsc');
    execFileSync(tsc, ['--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--outDir', join(dir, 'out'), join(dir, 'client.mts')], { cwd: REPO, stdio: 'pipe' });
    const output = execFileSync(process.execPath, [join(dir, 'out', 'client.mjs')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, CA: pki.ca, URL: server.url, TOKEN, VM: name },
    });
    expect(JSON.parse(output)).toEqual({ protocol: 'rest', vmClass: 'qemu', listed: true, missing: [404, 'NOT_FOUND'], start: 'NOT_FOUND' });
  });
});
