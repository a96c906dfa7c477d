import { connect } from 'node:net';
import type { Reply } from '../core/reply.js';
import type { Protocol, RpcRequest } from '../core/request.js';
import type { HandleOptions, RequestDispatcher } from '../dispatch/dispatcher.js';
import type { JobRecord } from '../dispatch/job-records.js';

// The per-request executables (Choria, MCollective, `hvagent rpc`, the CLI) hand their
// request to `hvagent serve` over its unix socket when it runs: one round trip to a warm
// process instead of a cold one doing the work. When the server cannot be reached (not
// running, a stale socket, no permission) or says it is stopping, the request runs here,
// as it always did; once the request has been sent, it is never run twice.

interface Sent {
  /** The server never started it: running it here is safe. */
  readonly notTaken?: boolean;
  readonly reply?: Reply;
}

export function handoffDispatcher(socketPath: string, local: RequestDispatcher): RequestDispatcher {
  const handOver = async (body: Record<string, unknown>, run: () => Promise<Reply>, onRecord?: (record: JobRecord) => void): Promise<Reply> => {
    const sent = await post(socketPath, body, onRecord);
    return sent.notTaken || !sent.reply ? run() : sent.reply;
  };
  return {
    ...local,
    async handle(request: RpcRequest, options: HandleOptions = {}) {
      const { protocol, ...envelope } = request;
      return handOver({ request: envelope, protocol, progress: options.onRecord !== undefined }, () => local.handle(request, options), options.onRecord);
    },
    async handleText(text: string, protocol: Protocol, factsFile?: string) {
      let parsed: RpcRequest | undefined;
      // The server judges policy lines on facts with its own facts_file: Choria's facts file is this process's.
      const reply = await handOver({ text, protocol }, async () => {
        const { reply: localReply, request } = await local.handleText(text, protocol, factsFile);
        parsed = request;
        return localReply;
      });
      // stdio echoes the request id: read it from the text the caller gave.
      return { reply, ...(parsed ? { request: parsed } : requestIdOf(text, protocol)) };
    },
  };
}

function requestIdOf(text: string, protocol: Protocol): { request?: RpcRequest } {
  try {
    const fields = JSON.parse(text) as Record<string, unknown>;
    const requestid = typeof fields.requestid === 'string' ? fields.requestid : undefined;
    return requestid ? { request: { agent: String(fields.agent), action: String(fields.action), data: fields.data, requestid, protocol } } : {};
  } catch {
    return {};
  }
}

/**
 * One request over the server's hand-over wire (adapter/rest/hand-over-stream.ts): a line of
 * JSON, answered by `{"record":…}` lines (when progress is asked) and a `{"reply":…}` line.
 * Not Node's HTTP client: loading and running it cost a per-request process more than the
 * work it saved (docs/PERFORMANCE.md, P4 through the command line).
 */
function post(socketPath: string, body: Record<string, unknown>, onRecord?: (record: JobRecord) => void): Promise<Sent> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    let text = '';
    const settle = (sent: Sent) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(sent);
    };
    const socket = connect(socketPath, () => {
      connected = true;
      socket.write(`${JSON.stringify(body)}\n`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      // A server that speaks only HTTP refused the line before reading it: nothing ran.
      if (text.startsWith('HTTP/')) return settle({ notTaken: true });
      try {
        for (let newline = text.indexOf('\n'); newline >= 0 && !settled; newline = text.indexOf('\n')) {
          const line = text.slice(0, newline);
          text = text.slice(newline + 1);
          if (line.trim() === '') continue;
          const message = JSON.parse(line) as { record?: JobRecord; reply?: Reply };
          if (message.record) onRecord?.(message.record);
          // A server that is stopping took nothing: run it here.
          if (message.reply) settle(message.reply.data?.error_code === 'SERVER_UNAVAILABLE' ? { notTaken: true } : { reply: message.reply });
        }
      } catch (error) {
        settle({ reply: lostReply(error as Error) });
      }
    });
    socket.once('error', (error) => settle(connected ? { reply: lostReply(error) } : { notTaken: true }));
    socket.once('close', () => settle(connected ? { reply: lostReply(new Error('the server closed the connection without a reply')) } : { notTaken: true }));
  });
}

/** The request reached the server but its answer did not come back: it may have run. */
function lostReply(error: Error): Reply {
  return {
    statuscode: 1,
    statusmsg: `The request was handed to hvagent serve, but its reply was lost (${error.message}); it may have run: check with job list or vm info before retrying`,
    data: { error_code: 'SERVER_UNAVAILABLE' },
  };
}
