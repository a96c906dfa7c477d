import type { Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import type { Operation } from '../../core/operations.js';
import type { RpcRequest } from '../../core/request.js';
import { JOB_ID } from '../../dispatch/job-records.js';
import { newJobId } from '../../dispatch/job-tracker.js';
import { agentEntry, allAgentDdls } from '../../ddl/registry.js';
import { resourceRoutes } from '../../ddl/routes.js';
import type { ServerContext, ServerEnv } from './context.js';
import { handOver, whileConnected, type Answer } from './hand-over.js';
import { inputsOf, wantsAsync } from './inputs.js';
import { sendReply } from './problems.js';

// POST /v1/<agent>/<action> for every action, the resource routes the DDL declares
// (GET /v1/vms/{name}…), and POST /v1/rpc, where the per-request executables hand over a
// request when the server runs (hand-over.ts).

export function rpcRoutes(app: Hono<ServerEnv>, server: ServerContext): void {
  // Reached with a query string: the plain handler in front of hono takes `POST /v1/rpc` (hand-over.ts).
  app.post('/v1/rpc', (c) => handOver(server, c.get('caller'), c.get('body') ?? '', c.env.outgoing, honoAnswer(c)));
  for (const route of resourceRoutes(allAgentDdls())) {
    const path = `/v1${route.path.replace(/\{([a-z0-9_]+)\}/g, ':$1')}`;
    app.on(route.method, path, (c) => runAction(c, server, route.agent, route.action, c.req.param() as Record<string, string>));
  }
  app.post('/v1/:agent/:action', (c) => runAction(c, server, c.req.param('agent'), c.req.param('action')));
}

async function runAction(c: Context<ServerEnv>, server: ServerContext, agent: string, action: string, params: Record<string, string> = {}): Promise<Response> {
  const data = await inputsOf(c, agentEntry(agent)?.action(action), params);
  const requestid = requestIdOf(c);
  const request: RpcRequest = { agent, action, data, callerid: c.get('caller').name, requestid, protocol: 'rest' };
  // A retry with the same key gets the first reply (dispatch/idempotency.ts); X-Request-Id alone is a trace id, never a replay key.
  const idempotencyKey = c.req.header('idempotency-key');
  if (idempotencyKey !== undefined) {
    if (!/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      const refusal = { statuscode: 4 as const, statusmsg: 'Idempotency-Key must be 1 to 255 printable characters', data: { error_code: 'REQUEST_INVALID' } };
      await server.dispatcher.recordRefusal('rest', refusal, request);
      return sendReply(c, refusal);
    }
    request.idempotencyKey = idempotencyKey;
  }
  if (wantsAsync(c)) {
    const { reply, operation } = await server.dispatcher.submit(request);
    return operation ? accepted(c, operation) : sendReply(c, reply);
  }
  return sendReply(c, await whileConnected(server, c.env.outgoing, request), { 'X-Request-Id': requestid });
}

/** 202, with where to follow it. */
export function accepted(c: Context, operation: Operation): Response {
  const location = `/v1/operations/${operation.id}`;
  return c.json({ statuscode: 0, statusmsg: `Accepted: operation ${operation.id}`, data: operation }, 202, { Location: location });
}

function requestIdOf(c: Context): string {
  const given = c.req.header('x-request-id');
  return given && JOB_ID.test(given) ? given : newJobId();
}

function honoAnswer(c: Context<ServerEnv>): Answer<Response> {
  return {
    reply: (reply) => sendReply(c, reply),
    lines: (produce) => stream(c, (out) => produce((line) => out.write(line))),
  };
}
