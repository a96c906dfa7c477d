import { HvError } from './errors.js';
import { printable } from './printable.js';

export type Protocol = 'choria' | 'mcollective' | 'stdio' | 'cli' | 'rest';

/** One request, whatever protocol carried it. */
export interface RpcRequest {
  agent: string;
  action: string;
  data: unknown;
  requestid?: string;
  callerid?: string;
  senderid?: string;
  protocol: Protocol;
}

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
  if (callerid) request.callerid = callerid;
  if (senderid) request.senderid = senderid;
  return request;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;
}
