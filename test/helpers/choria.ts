// A go-choria-exact external agent invocation (docs/reference/protocols.md §3.2-3.6), since Choria
// itself cannot be installed here: temp files named like os.CreateTemp("", "request"),
// the request without a trailing newline, argv[3] always …rpc_request, the environment
// REPLACED by CHORIA_EXTERNAL_* and PATH, cwd os.TempDir(), stdin /dev/null, SIGKILL at
// the timeout, a non-zero exit turning into Choria's generic error, and the reply
// decoded the way Go's encoding/json fills mcorpc.Reply.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';

export const RPC_PROTOCOL = 'io.choria.mcorpc.external.v1.rpc_request';
export const ACTIVATION_PROTOCOL = 'io.choria.mcorpc.external.v1.activation_request';

export interface ChoriaOptions {
  /** The executable Choria found beside the DDL. */
  executable: string;
  /** metadata.timeout in seconds (activation always gets 2 s). */
  timeoutSeconds?: number;
  /** Lines of the per-agent plugin config (CHORIA_EXTERNAL_CONFIG). */
  pluginConfig?: string;
  facts?: Record<string, unknown>;
  /** Choria's own PATH (default: this process's). */
  path?: string;
}

export interface ChoriaOutcome {
  exitCode: number;
  stderr: string;
  stdout: string;
  /** The raw reply file after the run. */
  replyText: string;
  /** What the Choria server would publish. */
  published: { statuscode: number; statusmsg: string; data: unknown };
  /** Every variable the agent's environment held. */
  env: Record<string, string>;
  argv: string[];
}

function createTemp(prefix: string): string {
  // os.CreateTemp(“”, prefix): the prefix followed by random digits, mode 0600.
  const path = join(tmpdir(), `${prefix}${randomBytes(5).readUInt32BE(0)}`);
  closeSync(openSync(path, 'wx', 0o600));
  return path;
}

/** One invocation with the request file holding exactly `request` (or what `request` writes into the file it is given). */
export async function choriaRaw(options: ChoriaOptions, protocol: string, request: string | ((file: string) => void), agent: string, timeoutMs: number) {
  const requestFile = createTemp('request');
  const replyFile = createTemp('reply');
  const factsFile = createTemp('facts');
  const configDir = mkdtempSync(join(tmpdir(), 'choria-etc-'));
  const pluginConfig = join(configDir, 'plugin.d', agent);
  try {
    if (typeof request === 'string') writeFileSync(requestFile, request);
    else request(requestFile);
    if (protocol === RPC_PROTOCOL) writeFileSync(factsFile, JSON.stringify(options.facts ?? { hostname: 'hv1' }));
    if (options.pluginConfig !== undefined) {
      const { mkdirSync } = await import('node:fs');
      mkdirSync(join(configDir, 'plugin.d'), { recursive: true });
      writeFileSync(pluginConfig, options.pluginConfig);
    }
    const env = {
      CHORIA_EXTERNAL_REQUEST: requestFile,
      CHORIA_EXTERNAL_REPLY: replyFile,
      CHORIA_EXTERNAL_PROTOCOL: protocol,
      CHORIA_EXTERNAL_CONFIG: pluginConfig,
      CHORIA_EXTERNAL_FACTS: factsFile,
      PATH: options.path ?? process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    };
    const argv = [requestFile, replyFile, RPC_PROTOCOL];
    const result = await execa(options.executable, argv, {
      env,
      extendEnv: false,
      cwd: tmpdir(),
      stdin: 'ignore',
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      reject: false,
    });
    return {
      exitCode: result.exitCode ?? -1,
      timedOut: Boolean(result.timedOut),
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      replyText: readFileSync(replyFile, 'utf8'),
      env,
      argv,
    };
  } finally {
    for (const file of [requestFile, replyFile, factsFile]) rmSync(file, { force: true });
    rmSync(configDir, { recursive: true, force: true });
  }
}

/** The activation check: `{"activate": bool}` within 2 s, else not activated. */
export async function choriaActivation(options: ChoriaOptions, agent: string) {
  const request = JSON.stringify({
    $schema: 'https://choria.io/schemas/mcorpc/external/v1/activation_request.json',
    protocol: ACTIVATION_PROTOCOL,
    agent,
  });
  const ran = await choriaRaw(options, ACTIVATION_PROTOCOL, request, agent, 2000);
  let activate = false;
  if (ran.exitCode === 0 && !ran.timedOut) {
    try {
      activate = (JSON.parse(ran.replyText) as { activate?: unknown }).activate === true;
    } catch {
      activate = false;
    }
  }
  return { ...ran, activate };
}

export async function choriaRpc(
  options: ChoriaOptions,
  agent: string,
  action: string,
  data: Record<string, unknown>,
): Promise<ChoriaOutcome> {
  const request = JSON.stringify({
    $schema: 'https://choria.io/schemas/mcorpc/external/v1/rpc_request.json',
    protocol: RPC_PROTOCOL,
    agent,
    action,
    requestid: randomBytes(16).toString('hex'),
    senderid: 'hv1.example.net',
    callerid: 'choria=operator.mcollective',
    collective: 'mcollective',
    ttl: 60,
    msgtime: Math.floor(Date.now() / 1000),
    data,
  });
  const timeoutSeconds = options.timeoutSeconds ?? 20;
  const ran = await choriaRaw(options, RPC_PROTOCOL, request, agent, timeoutSeconds * 1000);
  const abort = (statusmsg: string) => ({ statuscode: 1, statusmsg, data: {} });
  let published: ChoriaOutcome['published'];
  if (ran.timedOut) published = abort(`agent dispatcher exiting on ${timeoutSeconds}s timeout`);
  else if (ran.exitCode !== 0) {
    published = abort(`Could not call external agent ${agent}#${action}: executing ${basename(options.executable)} failed: exit status ${ran.exitCode}`);
  } else {
    published = decodeReply(ran.replyText, agent, action);
  }
  return { ...ran, published };
}

/** encoding/json into {statuscode uint8, statusmsg string, data any}, then setReplyDefaults. */
function decodeReply(text: string, agent: string, action: string): ChoriaOutcome['published'] {
  const reply = { statuscode: 0, statusmsg: 'OK', data: {} as unknown };
  let decoded: Record<string, unknown>;
  try {
    decoded = JSON.parse(text) as Record<string, unknown>;
    if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw new Error('not an object');
    const code = decoded.statuscode;
    if (code !== undefined && !(Number.isInteger(code) && (code as number) >= 0 && (code as number) <= 255)) {
      throw new Error('statuscode is not a uint8');
    }
    if (decoded.statusmsg !== undefined && typeof decoded.statusmsg !== 'string') throw new Error('statusmsg is not a string');
  } catch (error) {
    return { statuscode: 1, statusmsg: `Could not call external agent ${agent}#${action}: failed to decode reply json: ${(error as Error).message}`, data: {} };
  }
  if (decoded.statuscode !== undefined) reply.statuscode = decoded.statuscode as number;
  if (decoded.statusmsg !== undefined) reply.statusmsg = decoded.statusmsg as string;
  if ('data' in decoded) reply.data = decoded.data ?? {};
  else return { statuscode: 1, statusmsg: 'Could not set reply defaults: reply data is in the wrong format', data: {} };
  if (typeof reply.data !== 'object' || Array.isArray(reply.data)) {
    return { statuscode: 1, statusmsg: 'Could not set reply defaults: reply data is in the wrong format', data: {} };
  }
  return reply;
}
