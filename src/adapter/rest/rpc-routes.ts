import type { Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import { HvError } from '../../core/errors.js';
import type { Operation } from '../../core/operations.js';
import type { Reply } from '../../core/reply.js';
import type { HandleOptions } from '../../dispatch/dispatcher.js';
import { normalizeRequest, parseRequestText, type Protocol, type RpcRequest } from '../../core/request.js';
import { JOB_ID } from '../../dispatch/job-records.js';
import { newJobId } from '../../dispatch/job-tracker.js';
import { allAgentDdls, findAction, findAgent } from '../../ddl/registry.js';
import { resourceRoutes } from '../../ddl/routes.js';
import type { ServerContext, ServerEnv } from './context.js';
import { inputsOf, jsonBody, wantsAsync } from './inputs.js';
import { sendReply } from './problems.js';

// POST /v1/<agent>/<action> for every action, the resource routes the DDL declares
// (GET /v1/vms/{name}…), and POST /v1/rpc, where the per-request executables hand over a
// request when the server runs (src/adapter/handoff.ts).

const RELAYED_PROTOCOLS: readonly Protocol[] = ['choria', 'mcollective', 'stdio', 'cli'];

export function rpcRoutes(app: Hono<ServerEnv>, server: ServerContext): void {
  app.post('/v1/rpc', (c) => handOver(c, server));
  for (const route of resourceRoutes(allAgentDdls())) {
    const path = `/v1${route.path.replace(/\{([a-z0-9_]+)\}/g, ':$1')}`;
    app.on(route.method, path, (c) => runAction(c, server, route.agent, route.action, c.req.param() as Record<string, string>));
  }
  app.post('/v1/:agent/:action', (c) => runAction(c, server, c.req.param('agent'), c.req.param('action')));
}

async function runAction(c: Context<ServerEnv>, server: ServerContext, agent: string, action: string, params: Record<string, string> = {}): Promise<Response> {
  const ddl = findAgent(agent);
  const data = await inputsOf(c, ddl && findAction(ddl, action), params);
  const requestid = requestIdOf(c);
  const request: RpcRequest = { agent, action, data, callerid: c.get('caller').name, requestid, protocol: 'rest' };
  if (wantsAsync(c)) {
    const { reply, operation } = await server.dispatcher.submit(request);
    return operation ? accepted(c, operation) : sendReply(c, reply);
  }
  return sendReply(c, await whileConnected(c, server, request), { 'X-Request-Id': requestid });
}

/** 202, with where to follow it. */
export function accepted(c: Context, operation: Operation): Response {
  const location = `/v1/operations/${operation.id}`;
  return c.json({ statuscode: 0, statusmsg: `Accepted: operation ${operation.id}`, data: operation }, 202, { Location: location });
}

/** Runs a request; a client that goes away before the reply cancels it (its work undone, as at the deadline). */
async function whileConnected(c: Context<ServerEnv>, server: ServerContext, request: RpcRequest, options: HandleOptions = {}): Promise<Reply> {
  const outgoing = c.env.outgoing;
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

function requestIdOf(c: Context): string {
  const given = c.req.header('x-request-id');
  return given && JOB_ID.test(given) ? given : newJobId();
}

/**
 * The hand-over: `{text}` (a request file's content, parsed here) or `{request}`, with the
 * protocol it came by. Only root on the unix socket may relay a caller and protocol (it
 * could run the same request in-process under any callerid); anyone else is who they are.
 * `progress: true` streams the job records as NDJSON lines before the reply's line.
 */
async function handOver(c: Context<ServerEnv>, server: ServerContext): Promise<Response> {
  const caller = c.get('caller');
  const body = await jsonBody(c);
  const claimed = RELAYED_PROTOCOLS.includes(body.protocol as Protocol) ? (body.protocol as Protocol) : 'stdio';
  const protocol: Protocol = caller.relays ? claimed : 'rest';
  let request: RpcRequest;
  try {
    request = typeof body.text === 'string' ? parseRequestText(body.text, protocol) : normalizeRequest(body.request, protocol);
  } catch (error) {
    return sendReply(c, { statuscode: (error as HvError).statuscode ?? 4, statusmsg: (error as Error).message, data: { error_code: (error as HvError).code ?? 'REQUEST_INVALID' } });
  }
  if (!caller.relays) request.callerid = caller.name;
  else request.callerid ??= caller.name;
  if (!request.requestid || !JOB_ID.test(request.requestid)) request.requestid = newJobId();
  if (body.progress !== true) return sendReply(c, await whileConnected(c, server, request));
  return stream(c, async (out) => {
    const lines: Promise<unknown>[] = [];
    const reply = await whileConnected(c, server, request, { onRecord: (record) => lines.push(out.write(`${JSON.stringify({ record })}\n`)) });
    await Promise.all(lines);
    await out.write(`${JSON.stringify({ reply })}\n`);
  });
}
