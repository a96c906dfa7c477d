#!/usr/bin/env node
// P3: requests per second through `hvagent rpc --stream` for a request that passes
// validation and is dispatched but needs no hypervisor (host agent_info).
//
//   node bench/stream.mjs [requests]     (default 200000)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const repo = fileURLToPath(new URL('..', import.meta.url));
const count = Number(process.argv[2] ?? 200_000);
const lines = [];
for (let i = 0; i < count; i += 1) lines.push(JSON.stringify({ agent: 'host', action: 'agent_info', data: {}, requestid: `r${i}` }));
const input = `${lines.join('\n')}\n`;

const start = process.hrtime.bigint();
const child = spawn(join(repo, 'agent/hvagent'), ['rpc', '--stream'], {
  env: { PATH: process.env.PATH },
  stdio: ['pipe', 'pipe', 'inherit'],
});
let replies = 0;
let ok = 0;
let tail = '';
child.stdout.on('data', (chunk) => {
  const text = tail + chunk.toString();
  const parts = text.split('\n');
  tail = parts.pop();
  replies += parts.length;
  for (const part of parts) if (part.includes('"statuscode":0')) ok += 1;
});
child.stdin.end(input);
await new Promise((resolve) => child.on('close', resolve));
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
if (replies !== count || ok !== count) throw new Error(`expected ${count} OK replies, got ${replies} (${ok} OK)`);
console.log(JSON.stringify({ requests: count, seconds: Math.round(seconds * 1000) / 1000, per_second: Math.round(count / seconds) }, null, 2));
