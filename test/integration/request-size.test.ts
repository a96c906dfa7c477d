// The request-size cap holds while a request is read, on every protocol: a 600 MB request
// gets a well-formed REQUEST_TOO_LARGE reply, and the agent's peak resident memory
// (VmHWM, reported by a preload when the process ends) stays far below the request's
// size. Before the cap was applied while reading, the same stdio request cost 1.28 GB and
// got no reply at all.
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import { AGENT, BUNDLE, mcollectiveCall, REPO } from '../helpers/agent.js';
import { choriaRaw, RPC_PROTOCOL } from '../helpers/choria.js';

// The documented cap (docs/RELIABILITY.md, Limits): 4 MiB, counted in bytes.
const CAP = 4 * 1024 * 1024;
const OVERSIZED = 600 * 1024 * 1024;
// Generous: a refused request costs the agent a few tens of MB over its start-up; reading
// the whole 600 MB request costs more than a gigabyte.
const PEAK_BOUND_KB = 256 * 1024;
const PRELOAD = join(REPO, 'test', 'fixtures', 'peak-memory.cjs');

const scratch = mkdtempSync(join(tmpdir(), 'limits-request-size-'));
let runs = 0;
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function peakFile(): string {
  runs += 1;
  return join(scratch, `peak-${runs}`);
}

function peakKb(file: string): number {
  const text = readFileSync(file, 'utf8');
  expect(text).toMatch(/^\d+$/);
  return Number(text);
}

function expectTooLarge(reply: { statuscode?: unknown; statusmsg?: unknown; data?: unknown }): void {
  expect(reply).toMatchObject({ statuscode: 4, data: { error_code: 'REQUEST_TOO_LARGE' } });
  expect(String(reply.statusmsg)).toContain(String(CAP));
}

const header = '{"agent":"host","action":"info","data":{"x":"';
const footer = '"}}';

/** A JSON request of `bytes` bytes, made a megabyte at a time (never held whole). */
function* oversizedRequest(bytes: number): Generator<Buffer> {
  yield Buffer.from(header);
  const block = Buffer.alloc(1024 * 1024, 'A');
  let left = bytes - header.length - footer.length;
  while (left > 0) {
    const piece = left >= block.length ? block : block.subarray(0, left);
    left -= piece.length;
    yield piece;
  }
  yield Buffer.from(footer);
}

/** The request file MCollective or Choria would hand over: the start of a request, then 600 MB (sparse: no disk used). */
function writeOversizedFile(file: string): void {
  const descriptor = openSync(file, 'w', 0o600);
  try {
    writeSync(descriptor, header);
    ftruncateSync(descriptor, OVERSIZED);
  } finally {
    closeSync(descriptor);
  }
}

/** `hvagent rpc [--stream]` fed from `input`; resolves with stdout and the peak memory. */
async function stdio(args: string[], input: Iterable<Buffer>): Promise<{ exitCode: number | null; stdout: string; peak: number }> {
  const peak = peakFile();
  const child = spawn(process.execPath, ['--require', PRELOAD, BUNDLE, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HVAGENT_TEST_PEAK_FILE: peak },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  // The agent keeps reading after its refusal, so the whole request goes in without a broken pipe.
  Readable.from(input).pipe(child.stdin);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { exitCode, stdout, peak: peakKb(peak) };
}

describe('a 600 MB request is refused while it is read, in bounded memory', () => {
  test('stdio (hvagent rpc)', async () => {
    const ran = await stdio(['rpc'], oversizedRequest(OVERSIZED));
    expect(ran.exitCode).toBe(0);
    const lines = ran.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expectTooLarge(JSON.parse(lines[0]!));
    expect(ran.peak).toBeLessThan(PEAK_BOUND_KB);
  });

  test('stdio stream: the oversized line gets its refusal in order, and the lines around it their answers', async () => {
    function* lines(): Generator<Buffer> {
      yield Buffer.from('{"agent":"host","action":"first","requestid":"before"}\n');
      yield* oversizedRequest(OVERSIZED);
      yield Buffer.from('\r\n{"agent":"host","action":"third","requestid":"after"}\n');
    }
    const ran = await stdio(['rpc', '--stream'], lines());
    expect(ran.exitCode).toBe(0);
    const replies = ran.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(replies).toHaveLength(3);
    expect(replies[0]).toMatchObject({ requestid: 'before', data: { error_code: 'ACTION_UNKNOWN' } });
    expect(replies[0]!.statusmsg).toMatch(/'first'/);
    expectTooLarge(replies[1]!);
    expect(replies[2]).toMatchObject({ requestid: 'after', data: { error_code: 'ACTION_UNKNOWN' } });
    expect(replies[2]!.statusmsg).toMatch(/'third'/);
    expect(ran.peak).toBeLessThan(PEAK_BOUND_KB);
  });

  test('MCollective request file: exit 4 with the refusal as the one stderr line', async () => {
    const peak = peakFile();
    const ran = await mcollectiveCall(writeOversizedFile, { NODE_OPTIONS: `--require=${PRELOAD}`, HVAGENT_TEST_PEAK_FILE: peak });
    rmSync(ran.cwd, { recursive: true, force: true });
    expect(ran.exitCode).toBe(4);
    expect(ran.reply).toMatchObject({ error_code: 'REQUEST_TOO_LARGE' });
    const stderr = ran.stderr.trimEnd().split('\n');
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toContain(String(CAP));
    expect(peakKb(peak)).toBeLessThan(PEAK_BOUND_KB);
  });

  test('Choria request file: exit 0 and a {statuscode, statusmsg, data} reply', async () => {
    // Choria replaces the environment: the preload and its report file are set by the executable it runs.
    const peak = peakFile();
    const executable = join(scratch, 'hvagent-with-peak');
    writeFileSync(executable, `#!/bin/sh\nHVAGENT_TEST_PEAK_FILE='${peak}' exec '${process.execPath}' --require '${PRELOAD}' '${BUNDLE}' "$@"\n`);
    chmodSync(executable, 0o755);
    const ran = await choriaRaw({ executable }, RPC_PROTOCOL, writeOversizedFile, 'host', 60_000);
    expect(ran.exitCode).toBe(0);
    const reply = JSON.parse(ran.replyText) as Record<string, unknown>;
    expect(Object.keys(reply).sort()).toEqual(['data', 'statuscode', 'statusmsg']);
    expectTooLarge(reply);
    expect(peakKb(peak)).toBeLessThan(PEAK_BOUND_KB);
  });
});

describe('the cap is exact', () => {
  const request = (bytes: number) => {
    // MCollective's request file ends with "\n": the file is `bytes` long.
    const body = `${header}${'A'.repeat(bytes - 1 - header.length - footer.length)}${footer}`;
    return (file: string) => writeFileSync(file, `${body}\n`);
  };

  test('a request of exactly the cap is read and answered (here: its undeclared input refused)', async () => {
    const ran = await mcollectiveCall(request(CAP));
    rmSync(ran.cwd, { recursive: true, force: true });
    expect(ran.reply).toMatchObject({ error_code: 'INPUT_UNDECLARED' });
  });

  test('one byte more is REQUEST_TOO_LARGE', async () => {
    const ran = await mcollectiveCall(request(CAP + 1));
    rmSync(ran.cwd, { recursive: true, force: true });
    expect(ran.reply).toMatchObject({ error_code: 'REQUEST_TOO_LARGE' });
  });
});

test('CLI: inputs past the cap are refused with REQUEST_TOO_LARGE before anything runs', async () => {
  // 5 MB of key=value arguments: past the kernel's default argument limit, so the shell
  // raises its stack limit (which raises that limit) before it runs the agent.
  const script = [
    'ulimit -s 65536',
    'big=$(head -c 102400 /dev/zero | tr "\\0" A)',
    'i=0; set --',
    'while [ $i -lt 50 ]; do set -- "$@" "name$i=$big"; i=$((i+1)); done',
    `exec '${AGENT}' host info --json "$@"`,
  ].join('\n');
  const ran = await execa('sh', ['-c', script], { reject: false, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, extendEnv: false });
  expect(ran.exitCode).toBe(4);
  expectTooLarge(JSON.parse(String(ran.stdout)));
});
