import type { HvConfig } from '../config/schema.js';
import { MIDDLEWARE_PROTOCOLS, processCaller, type RpcRequest } from '../core/request.js';

/**
 * The caller a request may be trusted as (docs/AUTHORIZATION.md). An adapter hands dispatch
 * the caller its transport proved; the one exception is the request file of MCollective's
 * runner or Choria, whose callerid their middleware checked, but which anyone could write
 * and hand to the agent by setting the same environment. So that caller counts only in a
 * process running as the middleware (authorization.middleware_uids, root by default);
 * anywhere else the caller is the process's own uid, and the file's claim is kept for the
 * audit alone.
 */
export function establishCaller(request: RpcRequest, config: { readonly authorization: Pick<HvConfig['authorization'], 'middleware_uids'> }): RpcRequest {
  if (!MIDDLEWARE_PROTOCOLS.includes(request.protocol)) return request;
  const uid = process.getuid?.();
  const middleware = config.authorization.middleware_uids ?? [0];
  if (uid !== undefined && middleware.includes(uid)) return request;
  const { callerid, ...rest } = request;
  return { ...rest, callerid: processCaller(), ...(callerid && { claimedCallerid: callerid }) };
}
