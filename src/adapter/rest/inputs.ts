import type { Context } from 'hono';
import { HvError } from '../../core/errors.js';
import { printable } from '../../core/printable.js';
import type { ActionDdl } from '../../ddl/types.js';
import { typed } from '../typed-text.js';
import type { ServerEnv } from './context.js';

// A REST request's inputs: the route's {params}, the query string and the JSON body,
// typed by the DDL where they are text. A name given in two places is refused: which one
// was meant cannot be guessed. The server's own query parameter (async) is not an input.

const SERVER_PARAMETERS = new Set(['async']);

export async function inputsOf(c: Context<ServerEnv>, action: ActionDdl | undefined, params: Readonly<Record<string, string>> = {}): Promise<Record<string, unknown>> {
  const data: Record<string, unknown> = { ...(await jsonBody(c)) };
  const put = (name: string, value: string, where: string) => {
    if (name in data) throw new HvError('REQUEST_INVALID', `Input '${printable(name)}' is given twice (${where} and elsewhere)`, { input: printable(name) });
    data[name] = typed(action?.input[name]?.type, value);
  };
  for (const [name, value] of new URL(c.req.url).searchParams) {
    if (!SERVER_PARAMETERS.has(name)) put(name, value, 'the query string');
  }
  for (const [name, value] of Object.entries(params)) put(name, value, 'the path');
  return data;
}

/** The body as a JSON object; no body is no inputs. */
async function jsonBody(c: Context<ServerEnv>): Promise<Record<string, unknown>> {
  // A GET has no body; any other request's was read, capped, before the routes (app.ts).
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return {};
  return jsonObject(c.get('body') ?? '');
}

/** A body's text as a JSON object; an empty body is no inputs. */
export function jsonObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HvError('REQUEST_INVALID', `The body is not valid JSON: ${printable((error as Error).message, 120)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HvError('REQUEST_INVALID', 'The body must be a JSON object of inputs');
  }
  return parsed as Record<string, unknown>;
}

/** `?async=true` or `Prefer: respond-async` (RFC 7240). */
export function wantsAsync(c: Context): boolean {
  const query = c.req.query('async');
  if (query !== undefined && /^(true|1|yes)$/i.test(query)) return true;
  return /(^|[\s,])respond-async([\s,;]|$)/i.test(c.req.header('prefer') ?? '');
}
