// `hvagent serve` in tests: the built agent started as a real server on a temporary unix
// socket and a TLS port the OS chooses on 127.0.0.1, with a test PKI made by openssl.
// Never the default socket: the agents other tests run would hand their requests to it.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { Agent, fetch as undiciFetch } from 'undici';
import { stringify } from 'yaml';
import { AGENT } from '../helpers/agent.js';

export interface Pki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** Signed by the server's client CA: CN alice-cert. */
  alice: { cert: string; key: string };
  /** Signed by another CA. */
  stranger: { cert: string; key: string };
  /** Signed by the client CA, expired yesterday. */
  expired: { cert: string; key: string };
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A CA, a server certificate for 127.0.0.1 and three client certificates. */
export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const ca = (name: string) => openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
  const signed = (name: string, by: string, days: string, extra: string[] = []) => {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${by}.crt`, '-CAkey', `${by}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', days, ...extra]);
  };
  ca('rest-test-ca');
  ca('rest-other-ca');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  signed('server', 'rest-test-ca', '2', ['-extfile', 'san.ext']);
  signed('alice-cert', 'rest-test-ca', '2');
  signed('stranger', 'rest-other-ca', '2');
  signed('expired', 'rest-test-ca', '-1');
  const pair = (name: string) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  return {
    dir,
    ca: join(dir, 'rest-test-ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    alice: pair('alice-cert'),
    stranger: pair('stranger'),
    expired: pair('expired'),
  };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: { statuscode: number; statusmsg: string; data: Record<string, unknown> } & Record<string, unknown>;
}

export interface TestServer {
  dir: string;
  socket: string;
  /** https://127.0.0.1:PORT */
  url: string;
  configFile: string;
  process: ResultPromise;
  /** Everything the server printed. */
  output: () => string;
  /** A request over the unix socket (as root: caller uid=0). */
  unix(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  /** Node's fetch over TLS, trusting the test CA, with a client certificate and/or a bearer token. */
  tls(path: string, options?: { method?: string; body?: unknown; token?: string; cert?: { cert: string; key: string } }): Promise<Answer>;
  /** Rewrites the configuration (then SIGHUP it). */
  writeConfig(config: Record<string, unknown>): void;
  stop(signal?: NodeJS.Signals): Promise<number | undefined>;
}

export interface ServerOptions {
  pki: Pki;
  /** Added to the configuration (server.tls, paths.jobs_dir and lock_dir are filled in). */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Reuse a directory (its jobs survive: a restart). */
  dir?: string;
}

export function baseConfig(dir: string, pki: Pki, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const server = (extra.server ?? {}) as Record<string, unknown>;
  return {
    ...extra,
    paths: { jobs_dir: join(dir, 'jobs'), lock_dir: join(dir, 'locks'), ...(extra.paths as object) },
    server: { tls: { cert: pki.serverCert, key: pki.serverKey, client_ca: pki.ca }, ...server },
  };
}

export async function startServer(options: ServerOptions): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'rest-server-'));
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'hvagent.sock');
  const configFile = join(dir, 'hvagent.yaml');
  const writeConfig = (config: Record<string, unknown>) => writeFileSync(configFile, stringify(baseConfig(dir, options.pki, config)));
  writeConfig(options.config ?? {});
  const child = execa(AGENT, ['serve', '--listen', `unix:${socket}`, '--listen', '127.0.0.1:0'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HVAGENT_CONFIG: configFile, ...options.env },
    extendEnv: false,
    reject: false,
    all: true,
    buffer: false,
    stdin: 'ignore',
  });
  let output = '';
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 30_000);
    const look = () => {
      const found = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (found && output.includes(`unix:${socket}`)) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.all?.on('data', look);
    void child.then(() => {
      clearTimeout(timer);
      reject(new Error(`serve exited:\n${output}`));
    });
  });
  // The test CA signed the server's certificate too.
  const ca = readFileSync(options.pki.ca);
  return {
    dir,
    socket,
    url,
    configFile,
    process: child,
    output: () => output,
    unix: (method, path, body, headers = {}) => unixRequest(socket, method, path, body, headers),
    async tls(path, { method = 'GET', body, token, cert } = {}) {
      const dispatcher = new Agent({
        connect: { ca, ...(cert && { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }) },
      });
      try {
        const response = await undiciFetch(`${url}${path}`, {
          method,
          dispatcher,
          headers: { ...(token && { Authorization: `Bearer ${token}` }), ...(body !== undefined && { 'Content-Type': 'application/json' }) },
          ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        });
        const text = await response.text();
        return { status: response.status, headers: Object.fromEntries(response.headers), text, json: parse(text) };
      } finally {
        await dispatcher.close();
      }
    },
    writeConfig,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const ended = await child;
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
      return ended.exitCode;
    },
  };
}

export function unixRequest(socket: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { socketPath: socket, method, path, headers: { ...(payload !== undefined && { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }), ...headers } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json: parse(text) }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

function parse(text: string): Answer['json'] {
  try {
    return JSON.parse(text) as Answer['json'];
  } catch {
    return { statuscode: -1, statusmsg: text, data: {} };
  }
}

const made = new Set<string>();

/** A VM name of this suite (rest-…), removed from both drivers by removeRestVms(). */
export function restVmName(): string {
  const name = `rest-${randomBytes(4).toString('hex')}`;
  made.add(name);
  return name;
}

export async function removeRestVms(): Promise<void> {
  const names = [...made];
  made.clear();
  await Promise.all(
    names.flatMap((name) =>
      ['qemu:///system', 'lxc:///system'].map(async (uri) => {
        await execa('virsh', ['-c', uri, 'destroy', name], { reject: false });
        await execa('virsh', ['-c', uri, 'undefine', '--nvram', name], { reject: false });
        await execa('virsh', ['-c', uri, 'undefine', name], { reject: false });
      }),
    ),
  );
  for (const name of names) rmSync(`/var/log/hvagent/console/${name}.log`, { force: true });
}
