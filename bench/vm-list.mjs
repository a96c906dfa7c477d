#!/usr/bin/env node
// P4: wall time of `vm list` (through `hvagent rpc`) on a host with N defined domains,
// divided by the wall time of what an operator would type to get the same facts: `virsh
// list --all` then `virsh domstats --raw --state --balloon --vcpu`, run one after the other.
// Both are run alternately in the same loop so that machine noise hits both alike, with
// `host agent_info` through the same `hvagent rpc` as the agent's fixed cost (start-up).
// It also counts the virsh processes one `vm list` starts, with N=10 and with N, through a
// `virsh` wrapper first on the agent's PATH: they must be equal.
//
// The N domains (p4-0000 …) are disk-less, shut off, defined on qemu:///system by one virsh
// process, and undefined again however the run ends (normal end, error, SIGINT, SIGTERM).
// The bench refuses to run when any p4- domain exists already.
//
// The small-host case comes first, with 10 of them defined: `hvagent vm list` through the
// command line (the built executable, its table on a pipe) against the bare minimum, `node
// -e 0` then `virsh list --all`, alternated in one loop (goal: 1.2x).
//
//   node bench/vm-list.mjs [domains] [rounds] [small-rounds]      (default 1000, 20 and 40)
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineDomains, domainsNamed, run, undefineDomains, virsh } from './domains.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const agent = join(repo, 'agent/hvagent');
const PREFIX = 'p4-';
const COUNT_AT = 10; // the small host of the process-count comparison
const domains = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 20);
const smallRounds = Number(process.argv[4] ?? 40);
const executable = join(repo, 'dist/hvagent.cjs');
if (!(Number.isInteger(domains) && domains >= COUNT_AT)) throw new Error(`domains must be an integer ≥ ${COUNT_AT}`);
const width = Math.max(4, String(domains - 1).length);
const nameOf = (i) => `${PREFIX}${String(i).padStart(width, '0')}`;
const work = mkdtempSync(join(tmpdir(), 'hv-bench-p4-'));

const ourDomains = () => domainsNamed(PREFIX);

function define(from, to) {
  defineDomains(Array.from({ length: to - from }, (_, i) => nameOf(from + i)), work, 'bench/vm-list.mjs');
}

let cleaned = false;
function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  const allGone = undefineDomains(PREFIX);
  rmSync(work, { recursive: true, force: true });
  if (!allGone) console.error(`bench/vm-list.mjs: some ${PREFIX} domains could not be undefined`);
}
// Every step is synchronous (spawnSync keeps the timings free of event-loop noise), so the
// loop yields between steps to let a pending signal's handler run.
const letSignalsIn = () => new Promise((resolve) => setImmediate(resolve));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanUp();
    process.exit(128 + constants.signals[signal]);
  });
}

/** One request through `hvagent rpc`; returns its reply data. */
function agentRpc(agentName, action, env = { PATH: process.env.PATH }) {
  const reply = JSON.parse(run(agent, ['rpc'], { input: JSON.stringify({ agent: agentName, action, data: {} }), env }));
  if (reply.statuscode !== 0) throw new Error(`${agentName} ${action} failed: ${JSON.stringify(reply)}`);
  return reply.data;
}

/** The virsh command lines one `vm list` runs, recorded by a wrapper first on its PATH. */
function virshCallsOfOneList() {
  const bin = join(work, 'bin');
  const log = join(work, 'virsh-calls');
  mkdirSync(bin, { recursive: true });
  writeFileSync(log, '');
  writeFileSync(join(bin, 'virsh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec /usr/bin/virsh "$@"\n`);
  chmodSync(join(bin, 'virsh'), 0o755);
  agentRpc('vm', 'list', { PATH: `${bin}:${process.env.PATH}` });
  return readFileSync(log, 'utf8').trimEnd().split('\n');
}

function timed(task) {
  const start = process.hrtime.bigint();
  task();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p90: at(0.9), mean: values.reduce((a, b) => a + b, 0) / values.length };
};

const existing = ourDomains();
if (existing.length > 0) {
  console.error(`bench/vm-list.mjs: refusing to run: ${existing.length} ${PREFIX} domain(s) exist already (${existing.slice(0, 3).join(', ')} …)`);
  process.exit(1);
}

/** The small host: the CLI's `vm list` against `node -e 0` plus `virsh list --all`, alternated. */
async function smallHost() {
  const env = { PATH: process.env.PATH };
  const runs = { cli: [], node: [], virsh: [], floor: [] };
  for (let i = -2; i < smallRounds; i += 1) {
    await letSignalsIn();
    let table = '';
    const cliMs = timed(() => {
      table = run(executable, ['vm', 'list'], { env });
    });
    if (!table.includes(nameOf(COUNT_AT - 1))) throw new Error(`hvagent vm list did not list ${nameOf(COUNT_AT - 1)}`);
    const nodeMs = timed(() => run('node', ['-e', '0'], { env }));
    const virshMs = timed(() => virsh(['list', '--all'], { env }));
    if (i >= 0) {
      runs.cli.push(cliMs);
      runs.node.push(nodeMs);
      runs.virsh.push(virshMs);
      runs.floor.push(nodeMs + virshMs);
    }
  }
  const cli = stats(runs.cli);
  const floor = stats(runs.floor);
  return {
    domains: virsh(['list', '--all', '--name']).split('\n').filter((line) => line.trim()).length,
    rounds: smallRounds,
    cli_vm_list: cli,
    node_e_0: stats(runs.node),
    virsh_list_all: stats(runs.virsh),
    floor,
    ratio_median: cli.median / floor.median,
    ratio_of_pairs_median: stats(runs.cli.map((ms, i) => ms / runs.floor[i])).median,
  };
}

try {
  define(0, COUNT_AT);
  const small = await smallHost();
  const callsSmall = virshCallsOfOneList();
  await letSignalsIn();
  let start = process.hrtime.bigint();
  define(COUNT_AT, domains);
  const defineSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const callsLarge = virshCallsOfOneList();
  await letSignalsIn();

  const runs = { agent: [], raw: [], raw_list: [], raw_domstats: [], floor: [] };
  for (let i = -2; i < rounds; i += 1) {
    await letSignalsIn();
    let listed = 0;
    const agentMs = timed(() => {
      listed = agentRpc('vm', 'list').count;
    });
    // The agent's fixed cost: a request through the same path that needs no hypervisor.
    const floorMs = timed(() => agentRpc('host', 'agent_info'));
    if (listed < domains) throw new Error(`vm list listed ${listed} VMs, expected at least ${domains}`);
    const listMs = timed(() => virsh(['list', '--all']));
    const domstatsMs = timed(() => virsh(['domstats', '--raw', '--state', '--balloon', '--vcpu']));
    if (i >= 0) {
      runs.agent.push(agentMs);
      runs.raw.push(listMs + domstatsMs);
      runs.raw_list.push(listMs);
      runs.raw_domstats.push(domstatsMs);
      runs.floor.push(floorMs);
    }
  }

  const result = {
    small_host: small,
    domains,
    rounds,
    define_seconds: defineSeconds,
    vm_list: stats(runs.agent),
    raw_virsh: stats(runs.raw),
    raw_virsh_list_all: stats(runs.raw_list),
    raw_virsh_domstats: stats(runs.raw_domstats),
    host_agent_info: stats(runs.floor),
  };
  result.ratio_median = result.vm_list.median / result.raw_virsh.median;
  result.ratio_mean = result.vm_list.mean / result.raw_virsh.mean;
  result.virsh_processes_per_list = [
    { domains: COUNT_AT, processes: callsSmall.length },
    { domains, processes: callsLarge.length, commands: callsLarge },
  ];
  start = process.hrtime.bigint();
  cleanUp();
  result.undefine_seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify(result, (key, value) => (typeof value === 'number' ? Math.round(value * 1000) / 1000 : value), 2));
  if (callsSmall.length !== callsLarge.length) {
    console.error(`bench/vm-list.mjs: vm list started ${callsSmall.length} virsh processes with ${COUNT_AT} domains but ${callsLarge.length} with ${domains}`);
    process.exitCode = 1;
  }
} finally {
  cleanUp();
}
