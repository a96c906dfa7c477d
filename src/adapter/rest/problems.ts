import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HvError, type ErrorCode } from '../../core/errors.js';
import { errorReply, type Reply } from '../../core/reply.js';

// Every REST answer is the RPC reply shape, {statuscode, statusmsg, data}, refusals included
// (data.error_code is the stable code): one parser for every client. The HTTP status says
// the same thing in HTTP's words.

const HTTP_STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  REQUEST_INVALID: 400,
  INPUT_REQUIRED: 400,
  INPUT_UNDECLARED: 400,
  INPUT_INVALID: 400,
  INVALID_ARGUMENT: 400,
  UNSUPPORTED: 400,
  UNAUTHENTICATED: 401,
  NOT_AUTHORIZED: 403,
  AGENT_UNKNOWN: 404,
  ACTION_UNKNOWN: 404,
  ROUTE_UNKNOWN: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  // The IETF Idempotency-Key draft's answer to a key reused with another body.
  IDEMPOTENCY_CONFLICT: 422,
  CANCELLED: 409,
  QUOTA_EXCEEDED: 409,
  REQUEST_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  SERVER_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  HYPERVISOR_TIMEOUT: 504,
  // The host cannot write its own files (RELIABILITY.md, Limits).
  DISK_FULL: 507,
  DISK_READ_ONLY: 507,
};

export function httpStatusOf(reply: Reply): ContentfulStatusCode {
  if (reply.statuscode === 0) return 200;
  return HTTP_STATUS[reply.data.error_code as ErrorCode] ?? 500;
}

/** Warm reads hand out the same reply object many times: it is serialized once. */
const serialized = new WeakMap<Reply, string>();

/** A reply, with the HTTP status that says the same. */
export function sendReply(c: Context, reply: Reply, headers?: Record<string, string>): Response {
  return c.body(replyText(reply), httpStatusOf(reply), { 'Content-Type': 'application/json', ...headers });
}

/** The same, written to Node's response (the hand-over's plain handler). */
export function writeReply(outgoing: ServerResponse, reply: Reply, headers?: Record<string, string>): void {
  const text = replyText(reply);
  outgoing.writeHead(httpStatusOf(reply), { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  outgoing.end(text);
}

export function replyText(reply: Reply): string {
  let text = serialized.get(reply);
  if (text === undefined) {
    text = JSON.stringify(reply);
    serialized.set(reply, text);
  }
  return text;
}

/** The same as raw HTTP/1.1 bytes, for a connection Node's parser has given up on (slow or malformed clients). */
export function rawRefusal(status: number, reason: string, code: ErrorCode, message: string): string {
  const body = JSON.stringify(errorReply(new HvError(code, message)));
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
