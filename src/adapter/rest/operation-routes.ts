import type { Context, Hono } from 'hono';
import { HvError } from '../../core/errors.js';
import type { Operation, OperationState } from '../../core/operations.js';
import type { ServerContext, ServerEnv } from './context.js';

// /v1/operations: what the job agent offers the fleets, in REST's shape. Each route is
// authorized as the job agent's matching action (list, status, wait, cancel), so one set
// of rules governs both.

const MAX_WAIT_S = 3600;

export function operationRoutes(app: Hono<ServerEnv>, server: ServerContext): void {
  const check = (c: Context<ServerEnv>, action: string, data: Record<string, unknown>) =>
    server.dispatcher.check({ agent: 'job', action, data, callerid: c.get('caller').name, protocol: 'rest' });

  app.get('/v1/operations', async (c) => {
    const state = c.req.query('state');
    await check(c, 'list', state ? { state } : {});
    const operations = server.dispatcher.operations.list({
      state: state === 'any' ? undefined : (state as OperationState | undefined),
      agent: c.req.query('agent'),
      action: c.req.query('action'),
      target: c.req.query('target'),
    });
    return c.json({ statuscode: 0, statusmsg: 'OK', data: { operations, count: operations.length } });
  });

  app.get('/v1/operations/:id', async (c) => {
    const id = c.req.param('id');
    await check(c, 'status', { id });
    return answer(c, known(server.dispatcher.operations.get(id), id));
  });

  app.get('/v1/operations/:id/wait', async (c) => {
    const id = c.req.param('id');
    const timeout = c.req.query('timeout') ?? '30';
    if (!/^\d{1,7}(\.\d+)?$/.test(timeout) || Number(timeout) > MAX_WAIT_S) {
      throw new HvError('INPUT_INVALID', `timeout must be a number of seconds from 0 to ${MAX_WAIT_S}`, { input: 'timeout' });
    }
    await check(c, 'status', { id });
    // A client that goes away ends the wait, not the operation.
    const controller = new AbortController();
    const gone = () => controller.abort();
    c.env.outgoing.once('close', gone);
    try {
      const operation = known(await server.dispatcher.operations.wait(id, Number(timeout) * 1000, controller.signal), id);
      return answer(c, operation, { 'X-Timed-Out': String(operation.state === 'running') });
    } finally {
      c.env.outgoing.off('close', gone);
    }
  });

  app.delete('/v1/operations/:id', async (c) => {
    const id = c.req.param('id');
    await check(c, 'cancel', { id });
    return answer(c, server.dispatcher.operations.cancel(id, c.get('caller').name));
  });
}

function known(operation: Operation | undefined, id: string): Operation {
  if (!operation) throw new HvError('NOT_FOUND', `No operation '${id}' on this host (finished ones are kept for operations.retention_s)`, { operation: id });
  return operation;
}

function answer(c: Context, operation: Operation, headers?: Record<string, string>): Response {
  return c.json({ statuscode: 0, statusmsg: 'OK', data: operation }, 200, headers);
}
