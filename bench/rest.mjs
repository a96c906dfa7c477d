#!/usr/bin/env node
// P7 and the server's other figures, against the built agent's `hvagent serve` on a private
// unix socket (never the default one: other agents would hand their requests to it):
//   - `GET /v1/vms` with N defined domains vs `virsh list --all`, alternated in one loop
//     (median of each; the server keeps the listing warm, refreshed by libvirt's events);
//   - throughput of `GET /v1/vms` from 8 keep-alive connections;
//   - `GET /v1/host` (host facts) latency, sequential;
//   - the server's RSS idle, after M mixed requests, and again after 10 s idle.
// The N domains (p7-0000 …) are disk-less and shut off, undefined however the run ends.
//
//   node bench/rest.mjs [domains] [rounds] [requests]      (default 1000, 30, 100000)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineDomains, domainsNamed, undefineDomains } from './domains.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const PREFIX = 'p7-';
const domains = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 30);
const requests = Number(process.argv[4] ?? 100_000);
const work = mkdtempSync(join(tmpdir(), 'hv-bench-p7-'));
const socket = join(work, 'hvagent.sock');
let server;

function cleanUp() {
  server?.kill('SIGTERM');
  const allGone = undefineDomains(PREFIX);
  rmSync(work, { recursive: true, force: true });
  if (!allGone) console.error(`bench/rest.mjs: some ${PREFIX} domains could not be undefined`);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanUp();
    process.exit(128 + constants.signals[signal]);
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });
function get(path) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    request({ socketPath: socket, path, agent }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (response.statusCode !== 200) reject(new Error(`${path}: ${response.statusCode} ${Buffer.concat(chunks)}`));
        else resolve({ ms, body: Buffer.concat(chunks) });
      });
    })
      .on('error', reject)
      .end();
  });
}

const timedSync = (command, args) => {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
};

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p90: at(0.9), mean: values.reduce((a, b) => a + b, 0) / values.length };
};

const rssMiB = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024;

if (domainsNamed(PREFIX).length > 0) {
  console.error(`bench/rest.mjs: refusing to run: ${PREFIX} domains exist already`);
  process.exit(1);
}

try {
  defineDomains(Array.from({ length: domains }, (_, i) => `${PREFIX}${String(i).padStart(4, '0')}`), work, 'bench/rest.mjs');
  const config = join(work, 'hvagent.yaml');
  writeFileSync(config, `paths: { jobs_dir: ${work}/jobs, lock_dir: ${work}/locks }\nserver: { max_concurrent_per_caller: 10000 }\n`);
  server = spawn(join(repo, 'agent/hvagent'), ['serve', '--listen', `unix:${socket}`], { env: { PATH: process.env.PATH, HVAGENT_CONFIG: config }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let output = '';
    server.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('listening on unix:')) resolve();
    });
    server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)));
  });
  // libvirt's event stream is up one second after start: reads are kept warm from then on.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const rssIdle = rssMiB();

  const p7 = { rest: [], virsh: [] };
  for (let i = -2; i < rounds; i += 1) {
    const { ms, body } = await get('/v1/vms');
    const count = JSON.parse(body).data.count;
    if (count < domains) throw new Error(`GET /v1/vms listed ${count}, expected at least ${domains}`);
    const virshMs = timedSync('virsh', ['-c', 'qemu:///system', 'list', '--all']);
    if (i >= 0) {
      p7.rest.push(ms);
      p7.virsh.push(virshMs);
    }
  }

  // Throughput: 8 connections, each sending its next request when the last is answered.
  const throughputFor = 5000;
  let done = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (done < throughputFor) {
        done += 1;
        await get('/v1/vms');
      }
    }),
  );
  const throughputSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  const host = [];
  for (let i = 0; i < 500; i += 1) host.push((await get('/v1/host')).ms);

  // Memory: M requests of every kind a monitoring poll or a dashboard makes.
  const paths = ['/v1/host/agent', '/v1/host', '/v1/vms?state=running', `/v1/vms/${PREFIX}0000`, '/v1/operations?state=running', '/v1/vms'];
  let sent = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (sent < requests) {
        sent += 1;
        await get(paths[sent % paths.length]);
      }
    }),
  );
  const rssAfter = rssMiB();
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const rssSettled = rssMiB();

  const result = {
    domains,
    rounds,
    p7_get_vms: stats(p7.rest),
    p7_virsh_list_all: stats(p7.virsh),
    p7_ratio_median: stats(p7.rest).median / stats(p7.virsh).median,
    p7_requests_per_second: throughputFor / throughputSeconds,
    host_facts: stats(host),
    rss_mib: { idle: rssIdle, [`after_${requests}_requests`]: rssAfter, after_10s_idle: rssSettled },
  };
  console.log(JSON.stringify(result, (key, value) => (typeof value === 'number' ? Math.round(value * 100) / 100 : value), 2));
} finally {
  agent.destroy();
  cleanUp();
}
