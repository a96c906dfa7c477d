import type { HvError, StatusCode } from './errors.js';

export type ReplyData = Record<string, unknown>;

export interface Reply {
  statuscode: StatusCode;
  statusmsg: string;
  data: ReplyData;
}

export function okReply(data: ReplyData): Reply {
  return { statuscode: 0, statusmsg: 'OK', data };
}

/**
 * A failed reply keeps every declared output (null unless known) so that both
 * protocols show the same keys, and adds error_code, the stable machine-readable code.
 */
export function errorReply(error: HvError, outputNames: readonly string[] = []): Reply {
  const data: ReplyData = {};
  for (const name of outputNames) data[name] = null;
  data.error_code = error.code;
  if (error.details) data.error_details = error.details;
  return { statuscode: error.statuscode, statusmsg: error.message, data };
}
