// The per-request executables and MCollective's runner hand a request to `hvagent serve` on
// the socket's own wire (a line of JSON). A server that answers that line in HTTP instead (a
// server from before the wire, or anything else listening there) has run nothing: the
// request must run in-process, as with no server at all, and never come back as "lost".
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { AGENT, REPO } from '../helpers/agent.js';

let dir: string;
let socket: string;
let httpOnly: Server;
let requestsSeen = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hand-over-fallback-'));
  socket = join(dir, 'http-only.sock');
  writeFileSync(join(dir, 'hvagent.yaml'), `paths: { jobs_dir: ${dir}/jobs, lock_dir: ${dir}/locks }\naudit: { file: ${dir}/audit.log }\n`);
  // Node's HTTP server answers a line that is not HTTP with 400 and closes the connection.
  httpOnly = createServer((_request, response) => {
    requestsSeen += 1;
    response.writeHead(500).end();
  });
  await new Promise<void>((resolve) => httpOnly.listen(socket, resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => httpOnly.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HVAGENT_SOCKET: socket, HVAGENT_CONFIG: join(dir, 'hvagent.yaml') });

test('the command line runs the request itself when the socket answers in HTTP', async () => {
  const ran = await execa(AGENT, ['host', 'agent_info', '--json'], { env: env(), extendEnv: false, reject: false });
  expect(ran.exitCode).toBe(0);
  const reply = JSON.parse(String(ran.stdout)) as { statuscode: number; data: { protocol: string } };
  expect([reply.statuscode, reply.data.protocol]).toEqual([0, 'cli']);
  expect(requestsSeen).toBe(0);
});

test("MCollective's runner runs the program when the socket answers in HTTP", async () => {
  const harness = [
    'require "json"',
    'module MCollective; module Log; def self.error(m) $stderr.puts(m) end; def self.info(m) end; end; end',
    'require ARGV[0]',
    'reply = MCollective::Util::HvagentRunner.call(ARGV[1], "host", "agent_info", {}, 60)',
    'puts JSON.generate(statuscode: reply.statuscode, statusmsg: reply.statusmsg, data: reply.data)',
  ].join('\n');
  const ran = await execa('ruby', ['-e', harness, join(REPO, 'mcollective', 'util', 'hvagent_runner.rb'), AGENT], { env: env(), extendEnv: false });
  const reply = JSON.parse(String(ran.stdout)) as { statuscode: number; statusmsg: string; data: { protocol: string } };
  expect([reply.statuscode, reply.statusmsg, reply.data.protocol]).toEqual([0, 'OK', 'mcollective']);
  expect(String(ran.stderr)).not.toMatch(/lost/);
  expect(requestsSeen).toBe(0);
});
