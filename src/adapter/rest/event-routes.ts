import type { Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { HvError } from '../../core/errors.js';
import type { ServerContext, ServerEnv } from './context.js';

// GET /v1/events: Server-Sent Events. `?types=operation,vm` (default both), `?target=NAME`
// (one VM, or the operations on it), `?operation=ID`. Each event is `event: <type>` with a
// JSON `data:` line; a comment every 15 s keeps proxies from closing a quiet stream. A
// reader that falls behind its backlog is sent `event: dropped` and closed.

const TYPES = new Set(['operation', 'vm']);
const KEEPALIVE_MS = 15_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export function eventRoutes(app: Hono<ServerEnv>, server: ServerContext): void {
  app.get('/v1/events', async (c) => {
    const types = parseTypes(c.req.query('types'));
    const target = c.req.query('target');
    const operation = c.req.query('operation');
    for (const [name, value] of [['target', target], ['operation', operation]] as const) {
      if (value !== undefined && !NAME.test(value)) throw new HvError('INPUT_INVALID', `${name} must be a name (letters, digits, _ . : -)`, { input: name });
    }
    // Who may see VM events may list VMs; who may see operations may list them.
    const caller = c.get('caller').name;
    if (types.has('vm')) await server.dispatcher.check({ agent: 'vm', action: 'list', data: {}, callerid: caller, protocol: 'rest' });
    if (types.has('operation')) await server.dispatcher.check({ agent: 'job', action: 'list', data: {}, callerid: caller, protocol: 'rest' });
    return stream(c, server, { types, target, operation });
  });
}

function stream(c: Context<ServerEnv>, server: ServerContext, filter: Parameters<ServerContext['events']['subscribe']>[0]): Response {
  const subscription = server.events.subscribe(filter);
  const keepalive = setInterval(() => subscription.offer({ type: 'keepalive' as never, time: '', name: '', target: null, data: {} }), KEEPALIVE_MS);
  c.env.outgoing.once('close', () => subscription.close('the reader went away'));
  return streamSSE(c, async (out) => {
    try {
      await out.writeSSE({ event: 'ready', data: JSON.stringify({ types: [...(filter.types ?? TYPES)] }) });
      for (;;) {
        const events = await subscription.next();
        if (events.length === 0) break;
        for (const event of events) {
          if ((event.type as string) === 'keepalive') await out.write(': keepalive\n\n');
          else await out.writeSSE({ event: event.type, data: JSON.stringify(event) });
        }
      }
      if (subscription.closed?.startsWith('dropped')) await out.writeSSE({ event: 'dropped', data: JSON.stringify({ reason: subscription.closed }) });
    } finally {
      clearInterval(keepalive);
      subscription.close('the stream ended');
    }
  });
}

function parseTypes(text: string | undefined): Set<string> {
  if (text === undefined || text === '') return new Set(TYPES);
  const types = new Set(text.split(','));
  for (const type of types) if (!TYPES.has(type)) throw new HvError('INPUT_INVALID', `types must be a list of ${[...TYPES].join(', ')}`, { input: 'types' });
  return types;
}
