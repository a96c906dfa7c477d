#!/usr/bin/env node
// P1: wall time of one external-agent request rejected by validation, divided by the
// wall time of `node -e 0`, both run alternately in the same loop so that machine noise
// hits both alike. The agent is invoked exactly as Choria does (cleared environment,
// request/reply files) through the installed, self-contained executable.
//
//   node bench/startup.mjs [iterations]      (default 200)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const iterations = Number(process.argv[2] ?? 200);
const work = mkdtempSync(join(tmpdir(), 'hv-bench-'));
spawnSync(join(repo, 'agent/hvagent'), ['install', 'choria', work], { stdio: 'ignore' });
const installed = join(work, 'mcollective/agent/host');
const request = join(work, 'request');
const reply = join(work, 'reply');
writeFileSync(
  request,
  JSON.stringify({ protocol: 'io.choria.mcorpc.external.v1.rpc_request', agent: 'host', action: 'info', requestid: 'b', data: { bogus: 1 } }),
);
const env = {
  PATH: process.env.PATH,
  CHORIA_EXTERNAL_REQUEST: request,
  CHORIA_EXTERNAL_REPLY: reply,
  CHORIA_EXTERNAL_PROTOCOL: 'io.choria.mcorpc.external.v1.rpc_request',
};

function timed(command, args, options) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, options);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const runs = { node: [], agent: [], launcher: [] };
for (let i = -10; i < iterations; i += 1) {
  const node = timed(process.execPath, ['-e', '0'], { env });
  const agent = timed(installed, [request, reply, 'io.choria.mcorpc.external.v1.rpc_request'], { env });
  const launcher = timed(join(repo, 'agent/hvagent'), [request, reply, 'io.choria.mcorpc.external.v1.rpc_request'], { env });
  if (i >= 0) {
    runs.node.push(node);
    runs.agent.push(agent);
    runs.launcher.push(launcher);
  }
}
const replyText = spawnSync('cat', [reply]).stdout.toString();
rmSync(work, { recursive: true, force: true });
if (!replyText.includes('INPUT_UNDECLARED')) throw new Error(`unexpected reply: ${replyText}`);

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p90: at(0.9), mean: values.reduce((a, b) => a + b, 0) / values.length };
};
const node = stats(runs.node);
const result = {
  iterations,
  node_e_0: node,
  installed_agent: stats(runs.agent),
  checkout_launcher: stats(runs.launcher),
};
result.ratio_median = result.installed_agent.median / node.median;
result.ratio_mean = result.installed_agent.mean / node.mean;
result.launcher_ratio_median = result.checkout_launcher.median / node.median;
console.log(JSON.stringify(result, (key, value) => (typeof value === 'number' ? Math.round(value * 1000) / 1000 : value), 2));
