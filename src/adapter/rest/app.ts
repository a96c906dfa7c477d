import { Hono, type Context } from 'hono';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { HvError, type ErrorCode } from '../../core/errors.js';
import { errorReply } from '../../core/reply.js';
import { refusalOf, type Admission, type Refused } from './admission.js';
import type { ServerContext, ServerEnv } from './context.js';
import { eventRoutes } from './event-routes.js';
import { metricsRoute } from './metrics-route.js';
import { operationRoutes } from './operation-routes.js';
import { sendReply } from './problems.js';
import { rpcRoutes } from './rpc-routes.js';

// The REST server's routes: every one generated from the DDL or fixed here, none written
// by hand per action. Before any route, the admission (admission.ts): the server is not
// stopping, the caller is known (401), the caller has not too many requests running (429),
// the body is not too large (413). POST /v1/rpc, the hand-over, is answered in front of
// this app by a plain handler that passes the same admission (hand-over.ts).

export function createApp(server: ServerContext, admission: Admission): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();

  // What the server refuses itself (no action ran, so dispatch recorded nothing) gets its
  // audit line here: an unknown caller, a route that does not exist, a body too large, too
  // many requests. Errors thrown on the way to an action are refusals of the same kind.
  const refused = (c: Context<ServerEnv>, refusal: Refused): Response => {
    admission.refuse(refusal.reply, c.get('caller'));
    return sendReply(c, refusal.reply, refusal.headers);
  };
  const refuseHere = (c: Context<ServerEnv>, code: ErrorCode, message: string, headers?: Record<string, string>) => refused(c, { reply: errorReply(new HvError(code, message)), headers });
  app.onError((error, c) => refused(c, refusalOf(error)));
  app.notFound((c) => refuseHere(c, 'ROUTE_UNKNOWN', `No route ${c.req.method} ${new URL(c.req.url).pathname}; GET /v1/openapi.json lists them`));

  app.use(async (c, next) => {
    // Event streams last: they are bounded by their backlog, not counted.
    const entered = await admission.enter(c.env.transport, c.env.incoming, new URL(c.req.url).pathname !== '/v1/events');
    if (entered.caller) c.set('caller', entered.caller);
    if ('refused' in entered) return refused(c, entered.refused);
    try {
      await next();
    } finally {
      entered.release();
    }
  });
  app.use(async (c, next) => {
    // Only requests that may carry a body are read: a GET's body is never looked at.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const body = await admission.body(c.env.incoming);
    if ('refused' in body) return refused(c, body.refused);
    c.set('body', body.text);
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
