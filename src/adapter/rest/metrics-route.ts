import type { Hono } from 'hono';
import type { ServerContext, ServerEnv } from './context.js';

// GET /metrics: for Prometheus and any OpenMetrics scraper. Who may read it may call host
// usage and vm statistics; the text is computed at most once per few seconds however many
// scrapers ask (ServerContext.metrics).

export const OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export function metricsRoute(app: Hono<ServerEnv>, server: ServerContext): void {
  app.get('/metrics', async (c) => {
    const caller = c.get('caller');
    for (const [agent, action] of [['host', 'usage'], ['vm', 'statistics']] as const) {
      await server.dispatcher.check({ agent, action, data: {}, callerid: caller.name, protocol: 'rest' });
    }
    return c.body(await server.metrics(caller), 200, { 'Content-Type': OPENMETRICS });
  });
}
