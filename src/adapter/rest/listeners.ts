import { readFileSync, chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, isIPv6 } from 'node:net';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { HvConfig } from '../../config/schema.js';
import { HvError } from '../../core/errors.js';
import type { Transport } from './callers.js';
import type { HandOverConnection } from './hand-over-stream.js';
import { peerCredentials } from './peer-credentials.js';
import { rawRefusal } from './problems.js';

// Where the server listens: `unix:PATH` (root only: mode 0600; callers are known by their
// uid) and `HOST:PORT` (always TLS; callers prove themselves with a client certificate or
// a bearer token). Slow clients are cut off: headers within server.headers_timeout_s, the
// whole request within server.request_timeout_s; a malformed or late request gets a typed
// JSON refusal, never a hang.

export const DEFAULT_SOCKET = '/run/hvagent/hvagent.sock';
/** Connections waiting to be accepted (the kernel caps it at net.core.somaxconn): a unix socket refuses the rest with EAGAIN. */
const BACKLOG = 4096;
const UNIX_KEEP_ALIVE_MS = 300_000;

export type ListenSpec = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

export function parseListen(spec: string): ListenSpec {
  if (spec.startsWith('unix:')) {
    const path = spec.slice('unix:'.length);
    if (!/^\/[A-Za-z0-9._+/-]{1,107}$/.test(path) || path.split('/').includes('..')) {
      throw new HvError('INVALID_ARGUMENT', `--listen ${spec}: a unix socket path must be absolute, without '..', at most 108 characters`);
    }
    return { kind: 'unix', path };
  }
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):(\d{1,5})$/.exec(spec);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new HvError('INVALID_ARGUMENT', `--listen ${spec}: expected unix:PATH or HOST:PORT (e.g. 127.0.0.1:8443, [::1]:8443)`);
  const host = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!;
  if (match[1]!.startsWith('[') && !isIPv6(host)) throw new HvError('INVALID_ARGUMENT', `--listen ${spec}: ${host} is not an IPv6 address`);
  return { kind: 'tcp', host, port };
}

export interface Listener {
  readonly spec: ListenSpec;
  readonly server: Server;
  /** `unix:/run/hvagent/hvagent.sock` or `https://127.0.0.1:8443` (the port the OS chose for 0). */
  readonly address: string;
  /** Stops accepting; idle keep-alive connections are closed, busy ones finish. */
  close(): Promise<void>;
}

/** The server's handlers: HTTP requests per transport (the caller is proved per transport), and the unix socket's hand-over lines. */
export interface Handlers {
  readonly http: (transport: Transport) => RequestListener;
  readonly handOverStream: (socket: Socket, first: Buffer, limits: { idleMs: number }) => HandOverConnection;
}

export async function listen(spec: ListenSpec, handlers: Handlers, config: HvConfig): Promise<Listener> {
  const transport: Transport = spec.kind === 'unix' ? 'unix' : 'tls';
  const timeouts = {
    headersTimeout: config.server.headers_timeout_s * 1000,
    requestTimeout: config.server.request_timeout_s * 1000,
    // The unix socket's clients are this host's own agents (MCollective's runner keeps its
    // connections): an idle one is kept for minutes, and its peer is identified once.
    keepAliveTimeout: spec.kind === 'unix' ? UNIX_KEEP_ALIVE_MS : 5000,
    // How often Node checks those timeouts (default 30 s: a slow client would hold on that long).
    connectionsCheckingInterval: Math.min(1000, config.server.headers_timeout_s * 500),
  };
  const server: Server = spec.kind === 'unix' ? createHttpServer(timeouts, handlers.http(transport)) : createHttpsServer({ ...timeouts, ...tlsOptions(config) }, handlers.http(transport));
  server.headersTimeout = timeouts.headersTimeout;
  server.requestTimeout = timeouts.requestTimeout;
  server.keepAliveTimeout = timeouts.keepAliveTimeout;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => refuseClient(error.code, socket));
  const handOvers = new Set<HandOverConnection>();
  if (spec.kind === 'unix') {
    routeByFirstByte(server, handOvers, (socket, first) => handlers.handOverStream(socket, first, { idleMs: UNIX_KEEP_ALIVE_MS }), timeouts.headersTimeout);
    await claimSocketPath(spec.path);
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ path: spec.path, backlog: BACKLOG }, resolve));
    } finally {
      process.umask(umask);
    }
    chmodSync(spec.path, 0o600);
  } else {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ port: spec.port, host: spec.host, backlog: BACKLOG }, resolve));
  }
  const bound = server.address();
  const address = spec.kind === 'unix' ? `unix:${spec.path}` : `https://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${typeof bound === 'object' && bound ? bound.port : spec.port}`;
  return {
    spec,
    server,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        for (const connection of handOvers) connection.close();
        if (spec.kind === 'unix') removeSocket(spec.path);
      }),
  };
}

/**
 * A unix-socket connection whose first byte is `{` speaks the hand-over's NDJSON
 * (hand-over-stream.ts); any other goes to Node's HTTP server, as if it had accepted it. The
 * peer is identified as soon as it connects, while its first request is being read; one that
 * sends nothing within server.headers_timeout_s gets HTTP's 408.
 */
function routeByFirstByte(server: Server, handOvers: Set<HandOverConnection>, handOverStream: (socket: Socket, first: Buffer) => HandOverConnection, firstByteMs: number): void {
  const [httpConnection] = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    void peerCredentials(socket).catch(() => undefined);
    const silent = () => refuseClient('ERR_HTTP_REQUEST_TIMEOUT', socket);
    socket.setTimeout(firstByteMs, silent);
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.off('timeout', silent);
      socket.pause();
      if (first[0] === 0x7b) {
        const connection = handOverStream(socket, first);
        handOvers.add(connection);
        socket.once('close', () => handOvers.delete(connection));
        return;
      }
      socket.unshift(first);
      httpConnection!.call(server, socket);
      socket.resume();
    });
  });
}

function tlsOptions(config: HvConfig) {
  const tls = config.server.tls;
  if (!tls) throw new HvError('CONFIG_INVALID', 'A TCP listener needs server.tls (cert, key and client_ca or server.tokens) in the configuration: TCP is always TLS');
  if (!tls.client_ca && config.server.tokens.length === 0) {
    throw new HvError('CONFIG_INVALID', 'A TCP listener needs a way for callers to prove who they are: server.tls.client_ca, server.tokens, or both');
  }
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new HvError('CONFIG_INVALID', `server.tls.${what} ${path}: ${(error as Error).message}`);
    }
  };
  return {
    cert: read('cert', tls.cert),
    key: read('key', tls.key),
    ...(tls.client_ca && { ca: read('client_ca', tls.client_ca) }),
    // Asked for, checked by us: a refused certificate gets a 401 that says why, not a failed handshake.
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2' as const,
  };
}

/** A socket file left by a server that died is replaced; one a live server answers on is not. */
async function claimSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new HvError('CONFLICT', `${path} exists and is not a socket: remove it, or listen elsewhere`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new HvError('CONFLICT', `Another server answers on ${path}: stop it first, or listen elsewhere`);
  unlinkSync(path);
}

function removeSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

const CLIENT_ERRORS: Record<string, [number, string, 'REQUEST_TIMEOUT' | 'REQUEST_INVALID' | 'REQUEST_TOO_LARGE', string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'The request was not received in time (server.headers_timeout_s, server.request_timeout_s)'],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'REQUEST_TOO_LARGE', 'The request headers are too large'],
};

/** A request Node's HTTP server could not take (its error code), or none within the time (a silent connection): a typed refusal, then the end of the connection. */
function refuseClient(errorCode: string | undefined, socket: Socket): void {
  if (socket.writable && errorCode !== 'ECONNRESET') {
    const [status, reason, code, message] = CLIENT_ERRORS[errorCode ?? ''] ?? [400, 'Bad Request', 'REQUEST_INVALID', 'The request is not valid HTTP/1.1'];
    socket.end(rawRefusal(status, reason, code, message));
  }
  socket.destroySoon?.();
}
