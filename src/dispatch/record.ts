import type { RefusalSettings } from '../config/refusal.js';
import { toHvError } from '../core/errors.js';
import { errorReply, type Reply } from '../core/reply.js';
import { parseRequestText, type Protocol, type RpcRequest } from '../core/request.js';
import { auditRecord, settleAudit, writeAudit, type AuditState } from './audit.js';
import type { RequestDispatcher } from './contract.js';
import { establishCaller } from './caller.js';
import { actionOf } from './request-check.js';

/** Writes the audit line of a request that ended (started at `startedAt`), as a dispatcher knows it. */
/** `caller`: who the transport proved when no request was read (REST's own refusals). */
export type Recorder = (request: RpcRequest | undefined, reply: Reply, startedAt: number, protocol: Protocol, caller?: string) => Promise<void>;

/**
 * Writes the audit line of a request that ended. Its caller is established here when
 * dispatch had not yet done so (a request refused before that); without settings (the
 * configuration did not load) the line goes to the default file with what the request said.
 */
export function recordRequest(
  settings: RefusalSettings | undefined,
  request: RpcRequest | undefined,
  line: { readonly trusted: boolean; readonly startedAt: number; readonly protocol: Protocol; readonly replayed?: boolean; readonly caller?: string | undefined },
  reply: Reply,
  audit: { readonly state: AuditState; readonly write: boolean },
): void {
  const shown = request && settings && !line.trusted ? establishCaller(request, settings) : request;
  const record = auditRecord(shown, request && actionOf(request), reply, line.startedAt, line.protocol, line.replayed ?? false, line.caller);
  if (audit.write) writeAudit(settings?.audit, record, audit.state);
}

/**
 * What both dispatchers answer alike (front.ts and dispatcher.ts): a request's text parsed
 * and handed to `handle` (text that does not parse is refused and recorded, with what
 * little is known), an adapter's own refusals recorded, and the audit's failures.
 */
export function answering(handle: RequestDispatcher['handle'], record: Recorder, audit: AuditState): Omit<RequestDispatcher, 'interrupt'> {
  return {
    handle,
    async handleText(text, protocol, factsFile) {
      const startedAt = Date.now();
      let request: RpcRequest;
      try {
        request = parseRequestText(text, protocol);
        if (factsFile) request.factsFile = factsFile;
      } catch (error) {
        const reply = errorReply(toHvError(error));
        await record(undefined, reply, startedAt, protocol);
        return { reply };
      }
      return { reply: await handle(request), request };
    },
    recordRefusal: (protocol, reply, request, caller) => record(request, reply, Date.now(), protocol, caller),
    auditWarning: () => {
      const warning = audit.warning;
      audit.warning = undefined;
      return warning;
    },
    auditFailures: () => audit.failures,
    settle: settleAudit,
  };
}
