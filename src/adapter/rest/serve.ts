import { getRequestListener } from '@hono/node-server';
import { writeSync } from 'node:fs';
import type { HvConfig } from '../../config/schema.js';
import { toHvError } from '../../core/errors.js';
import type { Reply } from '../../core/reply.js';
import type { Dispatcher, DispatcherOptions } from '../../dispatch/dispatcher.js';
import { pruneJobs } from '../../dispatch/job-records.js';
import { ReadCache } from '../../dispatch/read-cache.js';
import { openApiDocument } from '../../ddl/generate/openapi.js';
import { allAgentDdls } from '../../ddl/registry.js';
import { watchDomainEvents, type EventWatch } from '../../libvirt/events.js';
import { forgetHostFacts, keepHostFacts } from '../../monitoring/host-facts.js';
import { Admission } from './admission.js';
import { createApp } from './app.js';
import type { ServerContext } from './context.js';
import type { Caller, Transport } from './callers.js';
import { handOverListener } from './hand-over.js';
import { answerHandOverStream } from './hand-over-stream.js';
import { EventHub } from './event-hub.js';
import { DEFAULT_SOCKET, listen, parseListen, type Handlers, type Listener } from './listeners.js';
import { renderMetrics } from './metrics.js';
import { warmTtl } from './warm-reads.js';

// `hvagent serve [--listen unix:PATH|HOST:PORT]…`: the long-running server. It owns one
// dispatcher that may run operations, keeps reads warm (refreshed by libvirt's event
// stream and by its own changes), and answers until SIGTERM, which drains it: no new
// requests, running ones get server.shutdown_grace_s to end, then are cancelled and undone.
// SIGHUP reloads the configuration (tokens, rules, limits; listeners stay).

const METRICS_MAX_AGE_MS = 5000;
const PRUNE_EVERY_MS = 60_000;

export type DispatcherFactory = (options: Omit<DispatcherOptions, 'agents'>) => Dispatcher;

export async function runServe(args: readonly string[], makeDispatcher: DispatcherFactory): Promise<number> {
  const specs = listenArguments(args);
  // While libvirt's event stream is down a change could go unseen: reads are then only
  // shared by the requests that arrive while one is being made.
  const readCache = new ReadCache({ ttlMs: (agent, action) => { const ttl = warmTtl(agent, action); return ttl !== undefined && !eventsLive() ? 0 : ttl; } });
  // host info: the hypervisor and the topology kept, free memory read per request (no process).
  keepHostFacts();
  const events = new EventHub(() => config.server.max_event_backlog);
  const dispatcher = makeDispatcher({ detached: true, readCache });
  let config: HvConfig = await dispatcher.reloadConfig();
  let stopping = false;

  dispatcher.operations.subscribe((operation) =>
    events.publish({ type: 'operation', name: operation.state, time: operation.updated_at, target: operation.target, data: { ...operation } }),
  );
  const watches: EventWatch[] = [...new Set([config.libvirt.uri, config.libvirt.lxc_uri])].map((uri) => {
    let beenLive = false;
    return watchDomainEvents(uri, {
      onEvent: (event) => {
        readCache.refresh();
        if (event.lifecycle) events.publish({ type: 'vm', name: event.lifecycle, time: event.time, target: event.domain, data: { uri, ...event } });
      },
      // Whatever changed while the stream was down is unknown: start afresh. A libvirtd that
      // went away or came back may be another version: its host facts are read again (its
      // first connection changes nothing).
      onState: (live) => {
        readCache.invalidate();
        if (beenLive) forgetHostFacts();
        beenLive ||= live;
      },
    });
  });
  const eventsLive = () => watches.every((watch) => watch.live());

  const context: ServerContext = {
    dispatcher,
    config: () => config,
    events,
    metrics: metricsCache(dispatcher),
    openapi: once(() => JSON.stringify(openApiDocument(allAgentDdls()))),
    stopping: () => stopping,
  };
  const admission = new Admission(context);
  const app = createApp(context, admission);
  const handlers: Handlers = {
    http: (transport: Transport) => handOverListener(context, admission, transport, getRequestListener((request, env) => app.fetch(request, { ...env, transport }))),
    handOverStream: (socket, first, limits) => answerHandOverStream(context, admission, socket, first, limits),
  };
  const listeners: Listener[] = [];
  try {
    for (const spec of specs.length > 0 ? specs : config.server.listen.length > 0 ? config.server.listen.map(parseListen) : [parseListen(`unix:${DEFAULT_SOCKET}`)]) {
      listeners.push(await listen(spec, handlers, config));
    }
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    watches.forEach((watch) => watch.stop());
    throw error;
  }
  for (const listener of listeners) say(`listening on ${listener.address}`);

  const pruning = setInterval(() => {
    dispatcher.operations.prune();
    pruneJobs(config.paths.jobs_dir, Date.now(), config.operations.retention_s * 1000);
  }, PRUNE_EVERY_MS);
  pruning.unref();

  process.on('SIGHUP', () => {
    dispatcher.reloadConfig().then(
      (fresh) => {
        config = fresh;
        readCache.invalidate();
        forgetHostFacts();
        say('configuration reloaded');
      },
      (error: unknown) => say(`configuration not reloaded, the previous one stays: ${toHvError(error).message}`),
    );
  });

  return new Promise<number>((resolve) => {
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      say(`${signal}: stopping; ${dispatcher.running().length} request(s) running`);
      await Promise.all(listeners.map((listener) => listener.close().catch(() => undefined)));
      watches.forEach((watch) => watch.stop());
      clearInterval(pruning);
      const finishedInTime = await untilIdle(dispatcher, config.server.shutdown_grace_s * 1000);
      if (!finishedInTime) {
        for (const request of dispatcher.running()) dispatcher.cancel(request.id, `the server stopping (${signal})`);
        say(`cancelled ${dispatcher.running().length} request(s) still running after server.shutdown_grace_s; undoing their work`);
        await untilIdle(dispatcher, 60_000);
      }
      events.closeAll('the server is stopping');
      say('stopped');
      resolve(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}

function listenArguments(args: readonly string[]) {
  const specs = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!;
    if (arg === 'serve') continue;
    if (arg === '--listen') specs.push(parseListen(args[++index] ?? ''));
    else if (arg.startsWith('--listen=')) specs.push(parseListen(arg.slice('--listen='.length)));
    else throw toHvError({ code: 'INVALID_ARGUMENT', message: `serve: unknown argument '${arg}' (usage: hvagent serve [--listen unix:PATH|HOST:PORT]…)` });
  }
  return specs;
}

async function untilIdle(dispatcher: Dispatcher, boundMs: number): Promise<boolean> {
  const until = Date.now() + boundMs;
  while (dispatcher.running().length > 0) {
    if (Date.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** The metrics text, computed at most once per METRICS_MAX_AGE_MS whoever asks. */
function metricsCache(dispatcher: Dispatcher): (caller: Caller) => Promise<string> {
  let cached: { at: number; text: Promise<string> } | undefined;
  return (caller) => {
    if (cached && Date.now() - cached.at < METRICS_MAX_AGE_MS) return cached.text;
    const ask = (agent: string, action: string, data: Record<string, unknown>) => dispatcher.handle({ agent, action, data, callerid: caller.name, protocol: 'rest' });
    const ok = (reply: Reply) => (reply.statuscode === 0 ? reply.data : null);
    const text = Promise.all([ask('host', 'usage', { cpu_window_ms: 250 }), ask('vm', 'statistics', {})]).then(([usage, statistics]) => {
      const operations: Record<string, number> = {};
      for (const operation of dispatcher.operations.list()) operations[operation.state] = (operations[operation.state] ?? 0) + 1;
      return renderMetrics({ usage: ok(usage), statistics: ok(statistics), operations });
    });
    cached = { at: Date.now(), text };
    text.catch(() => (cached = undefined));
    return text;
  };
}

function once<T>(make: () => T): () => T {
  let value: { made: T } | undefined;
  return () => (value ??= { made: make() }).made;
}

function say(line: string): void {
  writeSync(1, `hvagent: ${line}\n`);
}
