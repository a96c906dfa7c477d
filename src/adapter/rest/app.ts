import { Hono, type Context } from 'hono';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { HvError, toHvError, type ErrorCode } from '../../core/errors.js';
import { errorReply, type Reply } from '../../core/reply.js';
import { establishCaller } from './callers.js';
import { readCappedBody } from './capped-body.js';
import type { ServerContext, ServerEnv } from './context.js';
import { eventRoutes } from './event-routes.js';
import { metricsRoute } from './metrics-route.js';
import { operationRoutes } from './operation-routes.js';
import { sendReply } from './problems.js';
import { rpcRoutes } from './rpc-routes.js';

// The REST server's routes: every one generated from the DDL or fixed here, none written
// by hand per action. Before any route: the server is not stopping, the caller is known
// (401), the caller has not too many requests running (429), the body is not too large (413).

export function createApp(server: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const inFlight = new Map<string, number>();

  // What the server refuses itself (no action ran, so dispatch recorded nothing) gets its
  // audit line here: an unknown caller, a route that does not exist, a body too large, too
  // many requests. Errors thrown on the way to an action are refusals of the same kind.
  const refused = (c: Context<ServerEnv>, response: Response, reply: Reply): Response => {
    void server.dispatcher.recordRefusal('rest', reply, undefined, c.get('caller')?.name);
    return response;
  };
  const refuseHere = (c: Context<ServerEnv>, code: ErrorCode, message: string, headers?: Record<string, string>) => {
    const reply = errorReply(new HvError(code, message));
    return refused(c, sendReply(c, reply, headers), reply);
  };
  app.onError((error, c) => {
    const reply = errorReply(toHvError(error));
    return refused(c, sendReply(c, reply), reply);
  });
  app.notFound((c) => refuseHere(c, 'ROUTE_UNKNOWN', `No route ${c.req.method} ${new URL(c.req.url).pathname}; GET /v1/openapi.json lists them`));

  app.use(async (c, next) => {
    if (server.stopping()) return refuseHere(c, 'SERVER_UNAVAILABLE', 'The server is stopping; retry on its successor', { Connection: 'close' });
    const caller = await establishCaller(c.env.transport, c.env.incoming, server.config().server);
    c.set('caller', caller);
    // Event streams last: they are bounded by their backlog, not counted here.
    if (new URL(c.req.url).pathname === '/v1/events') return next();
    const running = inFlight.get(caller.name) ?? 0;
    const limit = server.config().server.max_concurrent_per_caller;
    if (running >= limit) {
      return refuseHere(c, 'TOO_MANY_REQUESTS', `Caller '${caller.name}' has ${running} requests running, the most server.max_concurrent_per_caller allows; wait for some to end`, { 'Retry-After': '1' });
    }
    inFlight.set(caller.name, running + 1);
    try {
      await next();
    } finally {
      const left = (inFlight.get(caller.name) ?? 1) - 1;
      if (left > 0) inFlight.set(caller.name, left);
      else inFlight.delete(caller.name);
    }
  });
  app.use(async (c, next) => {
    // Only requests that may carry a body are read: a GET's body is never looked at.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const limit = server.config().server.max_body_bytes;
    const body = await readCappedBody(c.env.incoming, limit);
    if (body === undefined) return refuseHere(c, 'REQUEST_TOO_LARGE', `The body is larger than ${limit} bytes (server.max_body_bytes)`, { Connection: 'close' });
    c.set('body', body);
    return next();
  });
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => refuseHere(c, 'METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${new URL(c.req.url).pathname}; use ${methods.join(', ')}`, { Allow: methods.join(', ') }),
    }),
  );

  app.get('/v1/openapi.json', (c) => c.body(server.openapi(), 200, { 'Content-Type': 'application/json' }));
  operationRoutes(app, server);
  eventRoutes(app, server);
  metricsRoute(app, server);
  rpcRoutes(app, server);
  return app;
}
