import type { HttpBindings } from '@hono/node-server';
import type { HvConfig } from '../../config/schema.js';
import type { Dispatcher } from '../../dispatch/dispatcher.js';
import type { Caller, Transport } from './callers.js';
import type { EventHub } from './event-hub.js';

// What every route of the server is handed (serve.ts makes it).

/** `body`: a POST's body as text, read (capped) before any route (app.ts). */
export type ServerEnv = { Bindings: HttpBindings & { transport: Transport }; Variables: { caller: Caller; body: string } };

export interface ServerContext {
  readonly dispatcher: Dispatcher;
  /** The configuration in use (SIGHUP reloads it). */
  readonly config: () => HvConfig;
  readonly events: EventHub;
  /** OpenMetrics text, cached for a few seconds. */
  readonly metrics: (caller: Caller) => Promise<string>;
  /** The OpenAPI document, generated from the DDL once. */
  readonly openapi: () => string;
  /** SIGTERM came: new requests are refused. */
  readonly stopping: () => boolean;
}

