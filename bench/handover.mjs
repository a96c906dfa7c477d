#!/usr/bin/env node
// P6, the server's own share of a hand-over: CPU time of `hvagent serve` per hand-over
// (utime + stime from /proc/PID/stat, which the machine's load changes far less than wall
// time), for `host info`, `vm list` and `host agent_info` as MCollective's runner sends them
// (root on the unix socket, one kept connection, protocol mcollective), on the wire the
// server speaks: a line of JSON (adapter/rest/hand-over-stream.ts), or, for a server that
// answers that in HTTP (builds before it), `POST /v1/rpc` written as the runner wrote it.
// With `--against DIR` (another built checkout, e.g. a worktree of main) both servers run
// at once and are driven in alternated blocks: two builds under the same load. Wall-clock
// medians per request are printed too. `--gap MS` waits that long before each request: a
// server woken for each request, as a fleet's are (back to back, it stays hot in the
// CPU's caches and its functions get optimised, which a host serving a request every few
// seconds never sees). Private servers on private sockets; nothing else.
//
//   node bench/handover.mjs [requests per block] [--blocks N] [--gap MS] [--against DIR]    (default 2000, 4 blocks, no gap)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const perBlock = Number(args.find((arg, index) => /^\d+$/.test(arg) && !['--against', '--blocks', '--gap'].includes(args[index - 1])) ?? 2000);
const blocks = Number(option('--blocks') ?? 4);
const gapMs = Number(option('--gap') ?? 0);
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
  const server = { checkout, child, socketPath, cpu: {}, wall: {} };
  server.connection = await openConnection(socketPath);
  server.wire = 'line';
  const probe = await exchange(server, 'host', 'agent_info').catch(() => undefined);
  if (probe === undefined) {
    server.connection = await openConnection(socketPath);
    server.wire = 'http';
  }
  return server;
}

/** One kept connection, one request at a time: `ask(text, whole)` writes text and resolves with what came back once `whole(received)` holds. */
function openConnection(socketPath) {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath, () => resolve({ socket, ask }));
    socket.setEncoding('utf8');
    socket.once('error', reject);
    function ask(text, whole) {
      return new Promise((done, failed) => {
        let received = '';
        const onData = (chunk) => {
          received += chunk;
          if (whole(received)) finish(() => done(received));
        };
        const onClose = () => finish(() => failed(new Error(`the server closed the connection: ${received.slice(0, 200)}`)));
        const finish = (then) => {
          socket.off('data', onData);
          socket.off('close', onClose);
          then();
        };
        socket.on('data', onData);
        socket.once('close', onClose);
        socket.write(text);
      });
    }
  });
}

/** A whole HTTP reply with a Content-Length. */
function wholeHttp(text) {
  const end = text.indexOf('\r\n\r\n');
  const length = /content-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1];
  return end >= 0 && length !== undefined && text.length >= end + 4 + Number(length);
}

async function exchange(server, agent, action) {
  const body = JSON.stringify({ request: { agent, action, data: {}, sender: 'bench', callerid: 'cert=bench', uniqid: '' }, protocol: 'mcollective' });
  const started = process.hrtime.bigint();
  let reply;
  if (server.wire === 'line') {
    const answer = await server.connection.ask(`${body}\n`, (text) => text.includes('\n'));
    if (answer.startsWith('HTTP/')) throw new Error('the server speaks HTTP only');
    reply = JSON.parse(answer).reply;
  } else {
    const answer = await server.connection.ask(`POST /v1/rpc HTTP/1.1\r\nHost: hvagent\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, wholeHttp);
    reply = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
  }
  if (reply?.statuscode !== 0) throw new Error(`${agent} ${action}: ${JSON.stringify(reply).slice(0, 300)}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const cpuTicks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
};

async function block(server, agent, action, count) {
  const key = `${agent} ${action}`;
  const ticks = cpuTicks(server.child.pid);
  const walls = [];
  for (let i = 0; i < count; i += 1) {
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    walls.push(await exchange(server, agent, action));
  }
  // Clock ticks are 10 ms: microseconds per request over the block.
  (server.cpu[key] ??= []).push(((cpuTicks(server.child.pid) - ticks) * 10_000) / count);
  (server.wall[key] ??= []).push(...walls);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value) => Math.round(value * 1000) / 1000;

try {
  servers.push(await startServer(repo, 0));
  if (against) servers.push(await startServer(against, 1));
  for (const server of servers) for (const [agent, action] of CALLS) await block(server, agent, action, gapMs > 0 ? 20 : 200); // warm-up, not counted
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
  console.log(JSON.stringify({ requests_per_block: perBlock, blocks, gap_ms: gapMs, load_at_end: load, results: results.map((result, index) => ({ wire: servers[index].wire, ...result })) }, null, 2));
} finally {
  for (const server of servers) {
    server.connection?.socket.destroy();
    server.child.kill('SIGTERM');
  }
  await Promise.all(servers.map((server) => new Promise((resolve) => (server.child.exitCode !== null ? resolve() : server.child.once('exit', resolve)))));
  rmSync(work, { recursive: true, force: true });
}
