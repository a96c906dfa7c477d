import { request as httpRequest, type IncomingMessage } from 'node:http';
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

function post(socketPath: string, body: Record<string, unknown>, onRecord?: (record: JobRecord) => void): Promise<Sent> {
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    let connected = false;
    const request = httpRequest({ socketPath, method: 'POST', path: '/v1/rpc', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } }, (response) =>
      readAnswer(response, onRecord).then(resolve, (error: Error) => resolve({ reply: lostReply(error) })),
    );
    request.once('socket', (socket) => socket.once('connect', () => (connected = true)));
    request.once('error', (error) => resolve(connected ? { reply: lostReply(error) } : { notTaken: true }));
    request.end(payload);
  });
}

async function readAnswer(response: IncomingMessage, onRecord?: (record: JobRecord) => void): Promise<Sent> {
  response.setEncoding('utf8');
  let text = '';
  let reply: Reply | undefined;
  for await (const chunk of response) {
    text += chunk as string;
    const lines = text.split('\n');
    text = lines.pop() ?? '';
    for (const line of lines.filter((candidate) => candidate.trim() !== '')) {
      const message = JSON.parse(line) as { record?: JobRecord; reply?: Reply };
      if (message.record) onRecord?.(message.record);
      if (message.reply) reply = message.reply;
    }
  }
  if (text.trim() !== '') {
    const whole = JSON.parse(text) as Reply & { reply?: Reply };
    reply = whole.reply ?? whole;
  }
  if (!reply) throw new Error(`the server answered ${response.statusCode} without a reply`);
  // A server that is stopping took nothing: run it here.
  if (response.statusCode === 503 && reply.data?.error_code === 'SERVER_UNAVAILABLE') return { notTaken: true };
  return { reply };
}

/** The request reached the server but its answer did not come back: it may have run. */
function lostReply(error: Error): Reply {
  return {
    statuscode: 1,
    statusmsg: `The request was handed to hvagent serve, but its reply was lost (${error.message}); it may have run: check with job list or vm info before retrying`,
    data: { error_code: 'SERVER_UNAVAILABLE' },
  };
}
