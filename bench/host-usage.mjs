#!/usr/bin/env node
// P6: cost of `host usage`, the call a fleet makes every minute on every host: wall time
// through `hvagent rpc` with the default 250 ms CPU window and with the smallest (50 ms,
// close to the cost of everything else), alternated in one loop with `host agent_info`
// (the agent's fixed start-up), and the virsh processes one call starts, recorded by a
// `virsh` wrapper first on the agent's PATH. It defines nothing and needs a running libvirtd.
//
//   node bench/host-usage.mjs [rounds]      (default 30)
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const agent = join(fileURLToPath(new URL('..', import.meta.url)), 'agent/hvagent');
const rounds = Number(process.argv[2] ?? 30);
const work = mkdtempSync(join(tmpdir(), 'hv-bench-p5-'));

function agentRpc(agentName, action, data = {}, env = { PATH: process.env.PATH }) {
  const ran = spawnSync(agent, ['rpc'], { input: JSON.stringify({ agent: agentName, action, data }), env, encoding: 'utf8' });
  const reply = JSON.parse(ran.stdout);
  if (reply.statuscode !== 0) throw new Error(`${agentName} ${action} failed: ${ran.stdout}`);
  return reply.data;
}

function virshCallsOfOneUsage() {
  const log = join(work, 'virsh-calls');
  writeFileSync(log, '');
  writeFileSync(join(work, 'virsh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec /usr/bin/virsh "$@"\n`);
  chmodSync(join(work, 'virsh'), 0o755);
  const data = agentRpc('host', 'usage', {}, { PATH: `${work}:${process.env.PATH}` });
  return { calls: readFileSync(log, 'utf8').trimEnd().split('\n'), pools: data.libvirt_pools.length, vms: data.total_vms };
}

function timed(task) {
  const start = process.hrtime.bigint();
  task();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const p90 = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.9)];

try {
  const { calls, pools, vms } = virshCallsOfOneUsage();
  console.log(`virsh processes per host usage: ${calls.length} (libvirt pools: ${pools}, VMs: ${vms})`);
  for (const call of calls) console.log(`  virsh ${call.length > 160 ? `${call.slice(0, 160)}…` : call}`);
  const samples = { usage: [], fast: [], start: [] };
  for (let i = 0; i < rounds; i += 1) {
    samples.usage.push(timed(() => agentRpc('host', 'usage')));
    samples.fast.push(timed(() => agentRpc('host', 'usage', { cpu_window_ms: 50 })));
    samples.start.push(timed(() => agentRpc('host', 'agent_info')));
  }
  const line = (label, values) => console.log(`${label}: median ${median(values).toFixed(1)} ms, p90 ${p90(values).toFixed(1)} ms`);
  console.log(`${rounds} rounds`);
  line('host usage (cpu_window_ms 250)', samples.usage);
  line('host usage (cpu_window_ms 50) ', samples.fast);
  line('host agent_info (start-up)    ', samples.start);
} finally {
  rmSync(work, { recursive: true, force: true });
}
