import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ServerConfig, TokenConfig } from '../../config/schema.js';
import { HvError } from '../../core/errors.js';
import { printable } from '../../core/printable.js';
import { peerCredentials } from './peer-credentials.js';

// Who is calling: the one place each transport establishes it. Its name feeds the
// authorization rules and every record. (Audit and idempotency will hang off this.)
//   unix socket   the peer's uid from SO_PEERCRED: `uid=N`
//   TCP (TLS)     a client certificate signed by server.tls.client_ca: its CN
//                 or a bearer token whose SHA-256 is in server.tokens: that entry's caller

export type Transport = 'unix' | 'tls';

export interface Caller {
  readonly name: string;
  readonly via: 'peer-uid' | 'certificate' | 'token';
  /**
   * May relay another caller's identity (the hand-off of MCollective and Choria requests):
   * root on the unix socket, who could run the same request in-process under any callerid.
   */
  readonly relays: boolean;
}

export async function establishCaller(transport: Transport, incoming: IncomingMessage, server: ServerConfig, now = Date.now()): Promise<Caller> {
  if (transport === 'unix') return peerCaller(incoming.socket);
  const socket = incoming.socket as TLSSocket;
  const certificate = socket.getPeerCertificate?.();
  const presented = certificate !== undefined && Object.keys(certificate).length > 0;
  if (presented && socket.authorized) {
    const name = typeof certificate.subject?.CN === 'string' ? certificate.subject.CN : '';
    if (!/^[A-Za-z0-9_.=@:-]{1,128}$/.test(name)) {
      throw new HvError('UNAUTHENTICATED', `The client certificate's CN "${printable(name)}" cannot name a caller (letters, digits, _ . = @ : -)`);
    }
    return { name, via: 'certificate', relays: false };
  }
  const authorization = incoming.headers.authorization;
  if (authorization !== undefined) return { name: tokenCaller(authorization, server.tokens, now), via: 'token', relays: false };
  if (presented) {
    throw new HvError('UNAUTHENTICATED', `The client certificate was refused (${socket.authorizationError ?? 'not signed by server.tls.client_ca'}); use one signed by the configured client CA, or a bearer token`);
  }
  throw new HvError('UNAUTHENTICATED', 'No credential: present a client certificate signed by server.tls.client_ca, or Authorization: Bearer <token>');
}

/** The caller at the other end of a unix-socket connection: its uid, which the kernel proved. */
export async function peerCaller(socket: Socket): Promise<Caller> {
  const { uid } = await peerCredentials(socket);
  return { name: `uid=${uid}`, via: 'peer-uid', relays: uid === 0 };
}

function tokenCaller(authorization: string, tokens: readonly TokenConfig[], now: number): string {
  const match = /^Bearer ([\x21-\x7e]{16,512})$/.exec(authorization);
  if (!match) throw new HvError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>" (16 to 512 printable characters)');
  const digest = createHash('sha256').update(match[1]!).digest();
  // Every entry is compared, in constant time: the answer's timing tells nothing about the tokens.
  let found: TokenConfig | undefined;
  for (const token of tokens) {
    if (timingSafeEqual(digest, Buffer.from(token.sha256, 'hex')) && !found) found = token;
  }
  if (!found) throw new HvError('UNAUTHENTICATED', 'The bearer token is not one this server knows (server.tokens)');
  if (found.expires !== undefined && Date.parse(found.expires) <= now) {
    throw new HvError('UNAUTHENTICATED', `The bearer token of caller '${found.caller}' expired at ${found.expires}`);
  }
  return found.caller;
}
