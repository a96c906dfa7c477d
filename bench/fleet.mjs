#!/usr/bin/env node
// P6: the agent's share of an MCollective round trip, through a real fleet (test/fleet/fleet.sh:
// ActiveMQ and two stock mcollectived, hv1 and hv2), one agent at a time (`--batch 1
// --batch-sleep 0`: the default sleeps a second between batches, and mco counts it),
// against `rpcutil ping` (answered inside mcollectived: the transport alone). Per round, in
// turn: rpcutil ping, host info, vm list, host agent_info (no hypervisor); the time is mco's own "Finished processing 2 / 2
// hosts in T ms" (the client's Ruby start-up is not in it), halved per host. The share of
// an action is (its time - ping's) / its time: of the medians (`…_share`), and the median of
// each round's pair, the action against the ping of the same round (`…_share_of_pairs`).
// Phase 1 with `hvagent serve` running on a private socket (HVAGENT_SOCKET in the servers'
// environment: the runner hands each request to it), phase 2 with it stopped (the agent
// program runs per request, as without a server).
// --against DIR: phase 1 alternates this checkout's server with DIR's (another built
// checkout, e.g. a worktree of main), in blocks of BLOCK rounds, each after a fresh start
// and WARM_UP rounds that are not counted: two builds compared under the same load.
// --server-only: no phase 2.
//
//   node bench/fleet.mjs [rounds] [--against DIR] [--server-only]      (default 20)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const rounds = Number(args.find((arg, index) => /^\d+$/.test(arg) && args[index - 1] !== '--against') ?? 20);
const against = option('--against');
const serverOnly = args.includes('--server-only');
const BLOCK = 5;
const WARM_UP = 2;
const work = mkdtempSync(join(tmpdir(), 'hv-bench-p6-'));
const fleetDir = join(work, 'fleet');
const socket = join(work, 'hvagent.sock');

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

const fleetEnv = { FLEET: fleetDir, NODES: 'hv1 hv2', PLUGIN_SRC: join(work, 'plugin'), STOMP_PORT: String(await freePort()), HVAGENT_SOCKET: socket };
let server;

function stopAll() {
  server?.kill('SIGTERM');
  spawnSync(join(repo, 'test/fleet/fleet.sh'), ['stop', '--purge'], { env: { ...process.env, ...fleetEnv }, stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (stopAll(), process.exit(130)));

/** mco's own figure for the batch: ms per host. */
function mcoMs(args) {
  const out = run('mco', [...args, '--batch', '1', '--batch-sleep', '0', '--nodes', join(fleetDir, 'client/nodes.txt'), '--config', join(fleetDir, 'client/client.cfg')], { RUBYOPT: '-W0', MCOLLECTIVE_EXTRA_OPTS: '' });
  const match = /Finished processing (\d+) \/ (\d+) hosts in ([\d.]+) ms/.exec(out);
  if (!match || match[1] !== '2' || match[2] !== '2') throw new Error(`mco ${args.join(' ')}: ${out.slice(-400)}`);
  return Number(match[3]) / 2;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One round: each call in turn, ms per host. */
function round() {
  return {
    ping: mcoMs(['rpc', 'rpcutil', 'ping']),
    host_info: mcoMs(['rpc', 'host', 'info']),
    vm_list: mcoMs(['rpc', 'vm', 'list']),
    agent_info: mcoMs(['rpc', 'host', 'agent_info']),
  };
}

function summary(label, measured) {
  const times = (action) => measured.map((one) => one[action]);
  const ping = median(times('ping'));
  const share = (action) => (median(times(action)) - ping) / median(times(action));
  // Each round's call against the ping of the same round (an alternated pair), then the median:
  // the machine's state moves between rounds, and both calls of a pair see the same one.
  const pairedShare = (action) => median(measured.map((one) => (one[action] - one.ping) / one[action]));
  return {
    phase: label,
    rounds: measured.length,
    ping_ms: ping,
    host_info_ms: median(times('host_info')),
    vm_list_ms: median(times('vm_list')),
    agent_info_ms: median(times('agent_info')),
    host_info_agent_share: share('host_info'),
    vm_list_agent_share: share('vm_list'),
    host_info_agent_share_of_pairs: pairedShare('host_info'),
    vm_list_agent_share_of_pairs: pairedShare('vm_list'),
  };
}

function phase(label) {
  const measured = [];
  for (let i = -WARM_UP; i < rounds; i += 1) {
    const one = round();
    if (i >= 0) measured.push(one);
  }
  return summary(label, measured);
}

async function startServer(checkout) {
  const config = join(work, 'hvagent.yaml');
  writeFileSync(config, `paths: { jobs_dir: ${work}/jobs, lock_dir: ${work}/locks }\n`);
  server = spawn(join(checkout, 'agent/hvagent'), ['serve', '--listen', `unix:${socket}`], { env: { PATH: process.env.PATH, HVAGENT_CONFIG: config }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let output = '';
    server.stdout.on('data', (chunk) => (output += chunk) && output.includes('listening on') && resolve());
    server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)));
  });
}

async function stopServer() {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  server = undefined;
}

/** This checkout's server and DIR's, alternated in blocks, each block after a fresh start and its warm-up. */
async function compared() {
  const measured = { [repo]: [], [against]: [] };
  while (measured[repo].length < rounds || measured[against].length < rounds) {
    for (const checkout of [repo, against]) {
      await startServer(checkout);
      for (let i = -WARM_UP; i < BLOCK; i += 1) {
        const one = round();
        if (i >= 0 && measured[checkout].length < rounds) measured[checkout].push(one);
      }
      await stopServer();
    }
  }
  return [summary(`hvagent serve running: ${repo}`, measured[repo]), summary(`hvagent serve running: ${against}`, measured[against])];
}

try {
  run(join(repo, 'agent/hvagent'), ['install', 'mcollective', join(work, 'plugin')]);
  await startServer(repo);
  run(join(repo, 'test/fleet/fleet.sh'), ['start'], fleetEnv);
  const results = [];
  if (against) {
    await stopServer();
    results.push(...(await compared()));
  } else {
    results.push(phase('hvagent serve running'));
    await stopServer();
  }
  if (!serverOnly) results.push(phase('no server: the agent program per request'));
  const rounded = (value) => (typeof value === 'number' ? Math.round(value * 1000) / 1000 : value);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(JSON.stringify({ rounds, load_at_end: load, results }, (key, value) => rounded(value), 2));
} finally {
  stopAll();
}
