import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { HvError, toHvError } from '../../core/errors.js';
import { errorReply, type Reply } from '../../core/reply.js';
import { establishCaller, peerCaller, type Caller, type Transport } from './callers.js';
import { readCappedBody } from './capped-body.js';
import type { ServerContext } from './context.js';

// What every request passes before any route, whichever handler answers it (hono's
// middleware in app.ts, the hand-over's plain handler in hand-over.ts): the server is not
// stopping (503), the caller is known (401), the caller has not too many requests running
// (429), the body is not too large (413). One instance per server: the count of requests
// running per caller is shared by both handlers.

/** A refusal made here: no action ran, so dispatch recorded nothing; `refuse` writes its audit line. */
export interface Refused {
  readonly reply: Reply;
  readonly headers?: Record<string, string>;
}

export type Entered = { readonly caller: Caller; readonly release: () => void } | { readonly refused: Refused; readonly caller?: Caller };

export class Admission {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly server: ServerContext) {}

  /**
   * The caller, counted as running until `release` (event streams are not counted: their
   * backlog bounds them). A credential that proves nothing throws UNAUTHENTICATED.
   */
  async enter(transport: Transport, incoming: IncomingMessage, counted: boolean): Promise<Entered> {
    if (this.server.stopping()) return { refused: stoppingRefusal() };
    const caller = await establishCaller(transport, incoming, this.server.config().server);
    return counted ? this.count(caller) : { caller, release: () => undefined };
  }

  /** The same for a hand-over line on a unix-socket connection (hand-over-stream.ts): its peer is the caller. */
  async enterPeer(socket: Socket): Promise<Entered> {
    if (this.server.stopping()) return { refused: stoppingRefusal() };
    return this.count(await peerCaller(socket));
  }

  private count(caller: Caller): Entered {
    const running = this.inFlight.get(caller.name) ?? 0;
    const limit = this.server.config().server.max_concurrent_per_caller;
    if (running >= limit) {
      const message = `Caller '${caller.name}' has ${running} requests running, the most server.max_concurrent_per_caller allows; wait for some to end`;
      return { caller, refused: refusal('TOO_MANY_REQUESTS', message, { 'Retry-After': '1' }) };
    }
    this.inFlight.set(caller.name, running + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(caller.name) ?? 1) - 1;
      if (left > 0) this.inFlight.set(caller.name, left);
      else this.inFlight.delete(caller.name);
    };
    return { caller, release };
  }

  /** A request's body as text, read with server.max_body_bytes as its cap. */
  async body(incoming: IncomingMessage): Promise<{ text: string } | { refused: Refused }> {
    const limit = this.server.config().server.max_body_bytes;
    const text = await readCappedBody(incoming, limit);
    if (text === undefined) return { refused: refusal('REQUEST_TOO_LARGE', `The body is larger than ${limit} bytes (server.max_body_bytes)`, { Connection: 'close' }) };
    return { text };
  }

  /** The audit line of a refusal made before any action (the caller, where the transport proved one). */
  refuse(reply: Reply, caller: Caller | undefined): void {
    void this.server.dispatcher.recordRefusal('rest', reply, undefined, caller?.name);
  }
}

/** An error on the way to an action is a refusal of the same kind. */
export function refusalOf(error: unknown): Refused {
  return { reply: errorReply(toHvError(error)) };
}

function stoppingRefusal(): Refused {
  return refusal('SERVER_UNAVAILABLE', 'The server is stopping; retry on its successor', { Connection: 'close' });
}

function refusal(code: 'SERVER_UNAVAILABLE' | 'TOO_MANY_REQUESTS' | 'REQUEST_TOO_LARGE', message: string, headers: Record<string, string>): Refused {
  return { reply: errorReply(new HvError(code, message)), headers };
}
