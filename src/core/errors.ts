// Every failure that leaves hvagent is an HvError: a stable machine code, a sentence
// for a person, and the RPC statuscode that MCollective and Choria both understand
// (docs/reference/protocols.md §1.10: 1 aborted, 2 unknown action, 3 missing data, 4 invalid data, 5 unknown error).

export type StatusCode = 0 | 1 | 2 | 3 | 4 | 5;

const STATUS_BY_CODE = {
  REQUEST_INVALID: 4,
  REQUEST_TOO_LARGE: 4,
  AGENT_UNKNOWN: 2,
  ACTION_UNKNOWN: 2,
  INPUT_REQUIRED: 4,
  INPUT_UNDECLARED: 4,
  INPUT_INVALID: 4,
  NOT_AUTHORIZED: 1,
  DEADLINE_EXCEEDED: 1,
  HYPERVISOR_UNREACHABLE: 1,
  HYPERVISOR_ERROR: 1,
  HYPERVISOR_TIMEOUT: 1,
  VIRSH_MISSING: 1,
  CANCELLED: 1,
  INVALID_ARGUMENT: 4,
  COMMAND_FAILED: 1,
  NOT_FOUND: 1,
  CONFLICT: 1,
  IDEMPOTENCY_CONFLICT: 4,
  NETWORK_IN_USE: 1,
  UNSUPPORTED: 1,
  QUOTA_EXCEEDED: 1,
  ADMISSION_DENIED: 1,
  TEMPLATE_EXISTS: 1,
  TEMPLATE_IN_USE: 1,
  TEMPLATE_LOST: 1,
  DOWNLOAD_FAILED: 1,
  CHECKSUM_MISMATCH: 4,
  DISK_FULL: 1,
  DISK_READ_ONLY: 1,
  CONFIG_INVALID: 5,
  INTERNAL: 5,
  // The REST server's own refusals (docs/REST.md): before a request reaches dispatch.
  UNAUTHENTICATED: 1,
  ROUTE_UNKNOWN: 2,
  METHOD_NOT_ALLOWED: 2,
  TOO_MANY_REQUESTS: 1,
  REQUEST_TIMEOUT: 1,
  SERVER_UNAVAILABLE: 1,
} as const satisfies Record<string, StatusCode>;

export type ErrorCode = keyof typeof STATUS_BY_CODE;

export class HvError extends Error {
  override readonly name = 'HvError';
  readonly statuscode: StatusCode;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.statuscode = STATUS_BY_CODE[code];
  }
}

/** Anything thrown becomes an HvError; unknown exceptions are INTERNAL and keep their cause. */
export function toHvError(error: unknown): HvError {
  if (error instanceof HvError) return error;
  const coded = error as { code?: unknown; message?: unknown };
  if (typeof coded?.code === 'string' && coded.code in STATUS_BY_CODE && typeof coded.message === 'string') {
    return new HvError(coded.code as ErrorCode, coded.message, undefined, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new HvError('INTERNAL', `Internal error: ${message}`, undefined, { cause: error });
}
