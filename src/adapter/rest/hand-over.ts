import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { HvError } from '../../core/errors.js';
import type { Reply } from '../../core/reply.js';
import { MIDDLEWARE_PROTOCOLS, normalizeRequest, parseRequestText, type Protocol, type RpcRequest } from '../../core/request.js';
import type { HandleOptions } from '../../dispatch/dispatcher.js';
import { JOB_ID } from '../../dispatch/job-records.js';
import { newJobId } from '../../dispatch/job-tracker.js';
import { refusalOf, type Admission, type Refused } from './admission.js';
import type { Caller, Transport } from './callers.js';
import type { ServerContext } from './context.js';
import { jsonObject } from './inputs.js';
import { writeReply } from './problems.js';

// POST /v1/rpc, where the per-request executables and MCollective's runner hand over a
// request when the server runs (src/adapter/handoff.ts, mcollective/util/hvagent_runner.rb).
// Every MCollective and Choria request on the host comes this way, so it is answered by a
// plain Node handler in front of hono: no fetch Request, context, router or Response per
// request (about 0.3 ms of CPU). It passes the same admission as every route (admission.ts)
// and runs `handOver`, which hono's own /v1/rpc route (reached with a query string) runs too.

const RELAYED_PROTOCOLS: readonly Protocol[] = ['choria', 'mcollective', 'stdio', 'cli'];

/** Where a hand-over came from: an HTTP response (POST /v1/rpc) or a hand-over connection (hand-over-stream.ts). */
export interface Connection {
  /** True once the answer is out: a close after that is no caller going away. */
  readonly writableFinished: boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** How a handler answers: one reply, or NDJSON lines (`progress: true`). */
export interface Answer<R> {
  reply(reply: Reply): R;
  lines(produce: (send: (line: string) => Promise<unknown>) => Promise<void>): R;
}

/**
 * The hand-over: `{text}` (a request file's content, parsed here) or `{request}`, with the
 * protocol it came by. Only root on the unix socket may relay a caller and protocol (it
 * could run the same request in-process under any callerid); anyone else is who they are.
 * `progress: true` streams the job records as NDJSON lines before the reply's line.
 */
export async function handOver<R>(server: ServerContext, caller: Caller, bodyText: string, outgoing: Connection, answer: Answer<R>): Promise<R> {
  const body = jsonObject(bodyText);
  const claimed = RELAYED_PROTOCOLS.includes(body.protocol as Protocol) ? (body.protocol as Protocol) : 'stdio';
  const protocol: Protocol = caller.relays ? claimed : 'rest';
  let request: RpcRequest;
  try {
    request = typeof body.text === 'string' ? parseRequestText(body.text, protocol) : normalizeRequest(body.request, protocol);
  } catch (error) {
    const refusal = { statuscode: (error as HvError).statuscode ?? 4, statusmsg: (error as Error).message, data: { error_code: (error as HvError).code ?? 'REQUEST_INVALID' } };
    await server.dispatcher.recordRefusal(protocol, refusal);
    return answer.reply(refusal);
  }
  // A relayed MCollective or Choria request keeps its middleware's caller (dispatch decides
  // whether to trust it); a relayed stdio or CLI request is its peer, whose uid the socket proved.
  if (!caller.relays || !MIDDLEWARE_PROTOCOLS.includes(protocol)) request.callerid = caller.name;
  if (!request.requestid || !JOB_ID.test(request.requestid)) request.requestid = newJobId();
  if (body.progress !== true) return answer.reply(await whileConnected(server, outgoing, request));
  return answer.lines(async (send) => {
    const lines: Promise<unknown>[] = [];
    const reply = await whileConnected(server, outgoing, request, { onRecord: (record) => lines.push(send(`${JSON.stringify({ record })}\n`)) });
    await Promise.all(lines);
    await send(`${JSON.stringify({ reply })}\n`);
  });
}

/** Runs a request; a client that goes away before the reply cancels it (its work undone, as at the deadline). */
export async function whileConnected(server: ServerContext, outgoing: Connection, request: RpcRequest, options: HandleOptions = {}): Promise<Reply> {
  const controller = new AbortController();
  const gone = () => {
    if (!outgoing.writableFinished) controller.abort(new Error('its client, who closed the connection'));
  };
  outgoing.once('close', gone);
  try {
    return await server.dispatcher.handle(request, { ...options, signal: controller.signal });
  } finally {
    outgoing.off('close', gone);
  }
}

/** `POST /v1/rpc` answered here; every other request goes on to `next` (the hono app). */
export function handOverListener(server: ServerContext, admission: Admission, transport: Transport, next: RequestListener): RequestListener {
  return (incoming, outgoing) => {
    if (incoming.method !== 'POST' || incoming.url !== '/v1/rpc') return next(incoming, outgoing);
    void answerHandOver(server, admission, transport, incoming, outgoing);
  };
}

async function answerHandOver(server: ServerContext, admission: Admission, transport: Transport, incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
  let caller: Caller | undefined;
  let release = () => {};
  const refuse = (refused: Refused) => {
    admission.refuse(refused.reply, caller);
    writeReply(outgoing, refused.reply, refused.headers);
  };
  try {
    const entered = await admission.enter(transport, incoming, true);
    caller = entered.caller;
    if ('refused' in entered) return refuse(entered.refused);
    release = entered.release;
    const body = await admission.body(incoming);
    if ('refused' in body) return refuse(body.refused);
    await handOver(server, entered.caller, body.text, outgoing, nodeAnswer(outgoing));
  } catch (error) {
    // After the first progress line the status is sent: the connection is cut instead.
    if (outgoing.headersSent) outgoing.destroy(error as Error);
    else refuse(refusalOf(error));
  } finally {
    release();
  }
}

function nodeAnswer(outgoing: ServerResponse): Answer<void | Promise<void>> {
  return {
    reply: (reply) => writeReply(outgoing, reply),
    lines: async (produce) => {
      outgoing.writeHead(200);
      // A client that went away takes no more lines; its request was cancelled (whileConnected).
      await produce((line) => new Promise<void>((resolve) => outgoing.write(line, () => resolve())));
      outgoing.end();
    },
  };
}
