// hvagent gives up before the transport does: Choria SIGKILLs at the DDL timeout and
// MCollective sends no reply after it (docs/reference/protocols.md §1.9, §3.8), so the agent keeps a
// deadline a safety margin earlier and answers with an error of its own.

export const MIN_MARGIN_MS = 2000;
const MAX_GRACE_MS = 10_000;

export function deadlineFor(timeoutSeconds: number, env: Record<string, string | undefined> = process.env) {
  const timeoutMs = timeoutSeconds * 1000;
  let ms = timeoutMs - Math.max(MIN_MARGIN_MS, timeoutMs / 10);
  // Operators and tests may shorten the deadline, never lengthen it.
  const override = Number(env.HVAGENT_DEADLINE_MS);
  if (Number.isInteger(override) && override > 0 && override < ms) ms = override;
  // Part of the margin lets a cancelled action undo what it did (provisioning rollback)
  // before the error reply goes out; the rest keeps us ahead of the transport.
  const graceMs = Math.min(MAX_GRACE_MS, Math.floor((timeoutMs - ms) * 0.75));
  return { ms, at: Date.now() + ms, graceMs };
}

export type Deadline = ReturnType<typeof deadlineFor>;

/** A cancelled operation's time to undo what it made (provisioning rollback, a migration's abort). */
export const OPERATION_GRACE_MS = 30_000;

/**
 * An operation (a request run detached, in the server) is not bounded by the transport's
 * timeout: nobody waits on it. It gets its own, `operations.timeout_s`, and a longer grace.
 */
export function operationDeadline(timeoutSeconds: number): Deadline {
  const ms = timeoutSeconds * 1000;
  return { ms, at: Date.now() + ms, graceMs: OPERATION_GRACE_MS };
}
