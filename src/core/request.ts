import { HvError } from './errors.js';
import { printable } from './printable.js';

export type Protocol = 'choria' | 'mcollective' | 'stdio' | 'cli' | 'rest';

/** One request, whatever protocol carried it. */
export interface RpcRequest {
  agent: string;
  action: string;
  data: unknown;
  requestid?: string;
  /**
   * The caller as its transport proves it (docs/AUTHORIZATION.md): set by the adapter,
   * never taken from a request body, except the file MCollective's runner or Choria
   * wrote, which dispatch trusts only in a process its middleware runs (middleware_uids).
   */
  callerid?: string;
  /** A caller id the request body claimed where its transport does not prove one (stdio): for the audit, never trusted. */
  claimedCallerid?: string;
  senderid?: string;
  protocol: Protocol;
  /**
   * What makes a second delivery a retry of this request (dispatch/idempotency.ts): the
   * request id on MCollective and Choria, whose ids are unique per request; REST's
   * Idempotency-Key. None on stdio and the CLI, whose ids the caller picks freely.
   */
  idempotencyKey?: string;
  /** Choria's facts file (CHORIA_EXTERNAL_FACTS), for policy rules on facts. */
  factsFile?: string;
}

/** The caller of a process that is its own transport (stdio, CLI): the uid it runs as. */
export function processCaller(): string {
  return `uid=${process.getuid?.() ?? 'unknown'}`;
}

/** The protocols whose request file is written by a middleware that proved its caller. */
export const MIDDLEWARE_PROTOCOLS: readonly Protocol[] = ['mcollective', 'choria'];

/** Larger requests are refused before parsing: no hvagent input comes near this. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const NAME = /^[a-z][a-z0-9_]{0,63}$/;

export function parseRequestText(text: string, protocol: Protocol): RpcRequest {
  if (text.length > MAX_REQUEST_BYTES) {
    throw new HvError('REQUEST_TOO_LARGE', `Request is larger than ${MAX_REQUEST_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof RangeError ? 'it is nested too deeply' : (error as Error).message;
    throw new HvError('REQUEST_INVALID', `Request is not valid JSON: ${reason}`);
  }
  return normalizeRequest(parsed, protocol);
}

/**
 * Accepts the MCollective shape (sender, uniqid, callerid null), the Choria shape
 * (senderid, requestid, …) and the stdio shape; checks only the envelope here.
 */
export function normalizeRequest(parsed: unknown, protocol: Protocol): RpcRequest {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HvError('REQUEST_INVALID', 'Request must be a JSON object with agent, action and data');
  }
  const fields = parsed as Record<string, unknown>;
  const agent = fields.agent;
  const action = fields.action;
  if (typeof agent !== 'string' || typeof action !== 'string') {
    throw new HvError('REQUEST_INVALID', 'Request needs string fields "agent" and "action"');
  }
  if (!NAME.test(agent)) throw new HvError('AGENT_UNKNOWN', `Unknown agent '${printable(agent)}'`);
  if (!NAME.test(action)) throw new HvError('ACTION_UNKNOWN', `Unknown action '${printable(action)}' for agent '${agent}'`);
  const request: RpcRequest = { agent, action, data: fields.data, protocol };
  const requestid = text(fields.requestid) ?? text(fields.uniqid);
  const callerid = text(fields.callerid);
  const senderid = text(fields.senderid) ?? text(fields.sender);
  if (requestid) request.requestid = requestid;
  // The body's callerid is the middleware's word on MCollective and Choria; on stdio it is
  // the sender's own claim, and the process's uid is the caller.
  if (MIDDLEWARE_PROTOCOLS.includes(protocol)) {
    if (callerid) request.callerid = callerid;
    if (requestid) request.idempotencyKey = requestid;
  } else {
    request.callerid = processCaller();
    if (callerid) request.claimedCallerid = callerid;
  }
  if (senderid) request.senderid = senderid;
  return request;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;
}
