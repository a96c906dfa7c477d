// Runs the built agent the way each protocol does. Every helper spawns the real
// executable (agent/hvagent → dist/hvagent.cjs) with an argument array.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const AGENT = join(REPO, 'agent', 'hvagent');
export const BUNDLE = join(REPO, 'dist', 'hvagent.cjs');

export interface Reply {
  requestid?: string;
  statuscode: number;
  statusmsg: string;
  data: Record<string, unknown>;
}

export interface Ran {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Environment for the agent in tests: the real hypervisor unless a test says otherwise. */
export function agentEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra };
}

export async function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<Ran> {
  const result = await execa(AGENT, args, {
    env: agentEnv(env),
    extendEnv: false,
    reject: false,
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export async function stdioRpc(request: unknown, env: Record<string, string> = {}): Promise<Reply> {
  const text = typeof request === 'string' ? request : JSON.stringify(request);
  const ran = await cli(['rpc'], env, text);
  expect(ran.exitCode).toBe(0);
  return JSON.parse(ran.stdout) as Reply;
}

export async function stdioStream(lines: string[], env: Record<string, string> = {}): Promise<Reply[]> {
  const ran = await cli(['rpc', '--stream'], env, `${lines.join('\n')}\n`);
  expect(ran.exitCode).toBe(0);
  return ran.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Reply);
}

/**
 * Exactly what MCollective 2.12 does (docs/reference/protocols.md §1.4-1.6): a request file holding
 * Request#to_json plus "\n", an empty reply file, `<cmd> <request> <reply>` with the
 * MCOLLECTIVE_* variables, cwd = tmpdir, stdin empty.
 */
export async function mcollectiveCall(
  body: { action: string; data: unknown; agent?: string } | string | ((file: string) => void),
  env: Record<string, string> = {},
): Promise<Ran & { replyText: string; reply: Record<string, unknown> | undefined; cwd: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'hv-mc-'));
  const requestFile = join(cwd, 'mcollective_request20261121-1-abc');
  const replyFile = join(cwd, 'mcollective_reply20261121-1-def');
  const request =
    typeof body === 'function'
      ? undefined
      : typeof body === 'string'
      ? body
      : JSON.stringify({
          agent: body.agent ?? 'host',
          action: body.action,
          data: body.data,
          sender: 'fleet-client',
          callerid: null,
          // Unique per request, as MCollective's are: a repeated id is a retry, answered from the first reply.
          uniqid: randomBytes(16).toString('hex'),
        });
  if (typeof body === 'function') body(requestFile);
  else writeFileSync(requestFile, `${request}\n`, { mode: 0o600 });
  writeFileSync(replyFile, '', { mode: 0o600 });
  const result = await execa(AGENT, [requestFile, replyFile], {
    cwd,
    env: agentEnv({ LC_ALL: 'C', MCOLLECTIVE_REQUEST_FILE: requestFile, MCOLLECTIVE_REPLY_FILE: replyFile, ...env }),
    extendEnv: false,
    reject: false,
    input: '',
    stripFinalNewline: false,
  });
  const replyText = readFileSync(replyFile, 'utf8');
  let reply: Record<string, unknown> | undefined;
  try {
    reply = JSON.parse(replyText) as Record<string, unknown>;
  } catch {
    reply = undefined;
  }
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), replyText, reply, cwd };
}
