#!/usr/bin/env node
// P6: the agent's share of an MCollective round trip, through a real fleet (test/fleet/fleet.sh:
// ActiveMQ and two stock mcollectived, hv1 and hv2), one agent at a time (`--batch 1
// --batch-sleep 0`: the default sleeps a second between batches, and mco counts it),
// against `rpcutil ping` (answered inside mcollectived: the transport alone). Per round, in
// turn: rpcutil ping, host info, vm list, host agent_info (no hypervisor); the time is mco's own "Finished processing 2 / 2
// hosts in T ms" (the client's Ruby start-up is not in it), halved per host. The share of
// an action is (its time - ping's) / its time.
// Phase 1 with `hvagent serve` running on a private socket (HVAGENT_SOCKET in the servers'
// environment: the runner hands each request to it), phase 2 with it stopped (the agent
// program runs per request, as without a server).
//
//   node bench/fleet.mjs [rounds]      (default 20)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.argv[2] ?? 20);
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

function phase(label) {
  const times = { ping: [], host_info: [], vm_list: [], agent_info: [] };
  for (let i = -2; i < rounds; i += 1) {
    const ping = mcoMs(['rpc', 'rpcutil', 'ping']);
    const host = mcoMs(['rpc', 'host', 'info']);
    const vms = mcoMs(['rpc', 'vm', 'list']);
    const agentInfo = mcoMs(['rpc', 'host', 'agent_info']);
    if (i < 0) continue;
    times.ping.push(ping);
    times.host_info.push(host);
    times.vm_list.push(vms);
    times.agent_info.push(agentInfo);
  }
  const ping = median(times.ping);
  const share = (action) => (median(times[action]) - ping) / median(times[action]);
  return {
    phase: label,
    ping_ms: ping,
    host_info_ms: median(times.host_info),
    vm_list_ms: median(times.vm_list),
    agent_info_ms: median(times.agent_info),
    host_info_agent_share: share('host_info'),
    vm_list_agent_share: share('vm_list'),
  };
}

try {
  run(join(repo, 'agent/hvagent'), ['install', 'mcollective', join(work, 'plugin')]);
  const config = join(work, 'hvagent.yaml');
  writeFileSync(config, `paths: { jobs_dir: ${work}/jobs, lock_dir: ${work}/locks }\n`);
  server = spawn(join(repo, 'agent/hvagent'), ['serve', '--listen', `unix:${socket}`], { env: { PATH: process.env.PATH, HVAGENT_CONFIG: config }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let output = '';
    server.stdout.on('data', (chunk) => (output += chunk) && output.includes('listening on') && resolve());
    server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)));
  });
  run(join(repo, 'test/fleet/fleet.sh'), ['start'], fleetEnv);
  const withServer = phase('hvagent serve running');
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  server = undefined;
  const withoutServer = phase('no server: the agent program per request');
  const round = (value) => (typeof value === 'number' ? Math.round(value * 1000) / 1000 : value);
  console.log(JSON.stringify({ rounds, results: [withServer, withoutServer] }, (key, value) => round(value), 2));
} finally {
  stopAll();
}
