#!/usr/bin/env node
// P6, the server's own share of a hand-over: CPU time of `hvagent serve` per `POST /v1/rpc`
// (utime + stime from /proc/PID/stat, which the machine's load changes far less than wall
// time), for `host info`, `vm list` and `host agent_info` as MCollective's runner sends them
// (root on the unix socket, one kept-alive connection, protocol mcollective). With
// `--against DIR` (another built checkout, e.g. a worktree of main) both servers run at
// once and are driven in alternated blocks: two builds under the same load. Wall-clock
// medians per request are printed too. Private servers on private sockets; nothing else.
//
//   node bench/handover.mjs [requests per block] [--blocks N] [--against DIR]    (default 2000, 4 blocks)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const perBlock = Number(args.find((arg, index) => /^\d+$/.test(arg) && !['--against', '--blocks'].includes(args[index - 1])) ?? 2000);
const blocks = Number(option('--blocks') ?? 4);
const against = option('--against');
const CALLS = [
  ['host', 'info'],
  ['vm', 'list'],
  ['host', 'agent_info'],
];
const work = mkdtempSync(join(tmpdir(), 'hv-bench-handover-'));
const servers = [];

async function startServer(checkout, index) {
  const dir = join(work, String(index));
  const socketPath = join(dir, 'hvagent.sock');
  const config = join(work, `hvagent-${index}.yaml`);
  writeFileSync(config, `paths: { jobs_dir: ${dir}/jobs, lock_dir: ${dir}/locks }\naudit: { file: ${dir}/audit.log }\n`);
  const child = spawn(join(checkout, 'agent/hvagent'), ['serve', '--listen', `unix:${socketPath}`], { env: { PATH: process.env.PATH, HVAGENT_CONFIG: config }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk) && output.includes('listening on') && resolve());
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)));
  });
  return { checkout, child, socketPath, agent: new Agent({ keepAlive: true, maxSockets: 1 }), cpu: {}, wall: {} };
}

const cpuTicks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
};

function handOver(server, agent, action) {
  const body = JSON.stringify({ request: { agent, action, data: {}, sender: 'bench', callerid: 'cert=bench', uniqid: '' }, protocol: 'mcollective' });
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const sent = request({ socketPath: server.socketPath, method: 'POST', path: '/v1/rpc', agent: server.agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200 || JSON.parse(text).statuscode !== 0) reject(new Error(`${agent} ${action}: ${response.statusCode} ${text.slice(0, 300)}`));
        else resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    sent.on('error', reject);
    sent.end(body);
  });
}

async function block(server, agent, action, count) {
  const key = `${agent} ${action}`;
  const ticks = cpuTicks(server.child.pid);
  const walls = [];
  for (let i = 0; i < count; i += 1) walls.push(await handOver(server, agent, action));
  // Clock ticks are 10 ms: microseconds per request over the block.
  (server.cpu[key] ??= []).push(((cpuTicks(server.child.pid) - ticks) * 10_000) / count);
  (server.wall[key] ??= []).push(...walls);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value) => Math.round(value * 1000) / 1000;

try {
  servers.push(await startServer(repo, 0));
  if (against) servers.push(await startServer(against, 1));
  for (const server of servers) for (const [agent, action] of CALLS) await block(server, agent, action, 200); // warm-up, not counted
  for (const server of servers) server.cpu = {}, server.wall = {};
  for (let i = 0; i < blocks; i += 1) {
    for (const [agent, action] of CALLS) {
      for (const server of i % 2 === 0 ? servers : [...servers].reverse()) await block(server, agent, action, perBlock);
    }
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const results = servers.map((server) => ({
    checkout: server.checkout,
    ...Object.fromEntries(CALLS.map(([agent, action]) => [`${agent} ${action}`, { server_cpu_us_per_request: round(median(server.cpu[`${agent} ${action}`])), wall_ms_median: round(median(server.wall[`${agent} ${action}`])) }])),
  }));
  console.log(JSON.stringify({ requests_per_block: perBlock, blocks, load_at_end: load, results }, null, 2));
} finally {
  for (const server of servers) {
    server.agent.destroy();
    server.child.kill('SIGTERM');
  }
  await Promise.all(servers.map((server) => new Promise((resolve) => (server.child.exitCode !== null ? resolve() : server.child.once('exit', resolve)))));
  rmSync(work, { recursive: true, force: true });
}
