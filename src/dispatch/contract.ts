import type { Reply } from '../core/reply.js';
import type { Protocol, RpcRequest } from '../core/request.js';
import type { JobOptions } from './job-tracker.js';

export interface HandleOptions extends JobOptions {
  /** Run detached: the reply (statuscode 0, `job_id`) comes at once; `async=true` in the inputs asks the same. */
  async?: boolean;
  /** Cancels the request (as `cancel` does) when aborted: its caller has gone away. */
  signal?: AbortSignal;
  /** The request comes from a person at a terminal (the CLI, stdin and stdout a TTY). */
  readonly terminal?: boolean;
}

/**
 * What an adapter that answers requests needs: the dispatcher (dispatcher.ts), or in a
 * per-request process its front (front.ts), which refuses invalid requests without loading it.
 */
export interface RequestDispatcher {
  /** Never throws: every failure is a reply. */
  handle(request: RpcRequest, options?: HandleOptions): Promise<Reply>;
  /** Parses a request text first; the request is returned too when it parsed (stdio echoes its requestid). */
  handleText(text: string, protocol: Protocol, factsFile?: string): Promise<{ reply: Reply; request?: RpcRequest }>;
  /**
   * Records a request an adapter refused before dispatch could (a REST hand-over that does
   * not parse, a CLI line naming no action, REST's 401, 404, 413 and 429): every request has
   * its audit line. `caller` is who the transport proved when no request was read.
   */
  recordRefusal(protocol: Protocol, reply: Reply, request?: RpcRequest, caller?: string): Promise<void>;
  /**
   * Why the audit log could not be written, once per process (then undefined): the adapter
   * shows it where its protocol's output is not harmed.
   */
  auditWarning(): string | undefined;
  /** Audit lines this process could not write. */
  auditFailures(): number;
  /** Waits briefly for audit lines still on their way to syslog: before a per-request process exits. */
  settle(): Promise<void>;
  /**
   * Cancels every running request because the process was told to stop (SIGTERM, SIGINT):
   * each undoes what it made within its grace period and replies CANCELLED. Returns how many.
   */
  interrupt(signal: string): number;
}
