import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { Reply } from '../core/reply.js';
import type { RpcRequest } from '../core/request.js';
import type { ActionDdl } from '../ddl/types.js';
import type { Inputs } from '../ddl/validate.js';
import { sha256Hex } from '../core/crypto.js';

// A retried request (MCollective's or Choria's retry with the same request id; later a
// REST Idempotency-Key) gets the reply its first delivery got and does not run again
// (docs/RELIABILITY.md, Idempotency). A mutating request with an id runs under a lock of
// its (caller, id), so a retry that arrives while the first still runs waits for it; its
// reply is kept under <jobs_dir>/replies for the window, then pruned. The same id with a
// different agent, action or inputs is refused: it is another request that reused an id.
// Replies keep data only (no secret input is ever in one; declared secret outputs are cut).

const FORMAT = 1;
const PRUNE_EVERY_MS = 60_000;

interface KeptReply {
  format: number;
  kept_at: number;
  caller: string | null;
  request_id: string;
  agent: string;
  action: string;
  body: string;
  reply: Reply;
}

export interface Replay {
  /** The first reply, when this id was answered within the window. */
  readonly kept?: Reply;
  /** Keeps the reply of this (first) run. Never throws. */
  keep(reply: Reply): void;
}

/** Whether a request takes part: a mutating action, with an idempotency key, replay on. */
export function replayable(request: RpcRequest, action: ActionDdl, config: HvConfig): boolean {
  return Boolean(action.mutating && request.idempotencyKey && (config.idempotency?.window_seconds ?? 0) > 0);
}

/** Agent, action and inputs (defaults applied, keys in order): what makes two deliveries one request. */
export function bodyHash(request: RpcRequest, inputs: Inputs): string {
  const sorted = Object.fromEntries(Object.entries(inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return sha256Hex(JSON.stringify([request.agent, request.action, sorted]));
}

export function replyKey(request: RpcRequest): string {
  // The caller is part of the key: another caller's id names another request, and never sees this one's reply.
  return sha256Hex(`${request.callerid ?? ''}\0${request.idempotencyKey ?? ''}`).slice(0, 40);
}

/** Looks the id up; call under the id's lock. */
export function lookUp(request: RpcRequest, action: ActionDdl, inputs: Inputs, config: HvConfig, now = Date.now()): Replay {
  const window = (config.idempotency?.window_seconds ?? 0) * 1000;
  const directory = repliesDir(config);
  const key = replyKey(request);
  const body = bodyHash(request, inputs);
  const file = join(directory, `${key}.json`);
  const kept = readKept(file);
  if (kept && now - kept.kept_at <= window) {
    if (kept.body !== body) {
      throw new HvError(
        'IDEMPOTENCY_CONFLICT',
        `Request id '${request.idempotencyKey}' was already used for ${kept.agent}#${kept.action} with other inputs: a retry must repeat its request exactly; a new request needs a new id`,
        { request_id: request.idempotencyKey, first_action: `${kept.agent}#${kept.action}` },
      );
    }
    return { kept: kept.reply, keep: () => undefined };
  }
  return {
    keep(reply) {
      try {
        mkdirSync(directory, { recursive: true, mode: 0o700 });
        const record: KeptReply = {
          format: FORMAT,
          kept_at: Date.now(),
          caller: request.callerid ?? null,
          request_id: request.idempotencyKey!,
          agent: request.agent,
          action: request.action,
          body,
          reply: withoutSecrets(reply, action),
        };
        const temp = `${file}.${process.pid}.tmp`;
        writeFileSync(temp, JSON.stringify(record), { mode: 0o600 });
        renameSync(temp, file);
        pruneReplies(config);
      } catch {
        // A reply that cannot be kept only loses the replay of a retry.
      }
    },
  };
}

function readKept(file: string): KeptReply | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as KeptReply;
    return parsed?.format === FORMAT && typeof parsed.body === 'string' && typeof parsed.kept_at === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function withoutSecrets(reply: Reply, action: ActionDdl): Reply {
  const data = { ...reply.data };
  for (const [name, output] of Object.entries(action.output)) if ((output as { secret?: boolean }).secret) data[name] = null;
  return { ...reply, data };
}

export function repliesDir(config: HvConfig): string {
  return join(config.paths.jobs_dir, 'replies');
}

/**
 * When there are more than max_entries, or once a minute (a marker file's time): removes
 * replies past the window, then the oldest beyond max_entries, and temp files a killed
 * writer left. Between prunes only the names are read.
 */
export function pruneReplies(config: HvConfig, now = Date.now()): number {
  const directory = repliesDir(config);
  const marker = join(directory, '.pruned');
  const max = config.idempotency?.max_entries ?? 10_000;
  const names = readdirSync(directory);
  try {
    if (names.length - 1 <= max && now - statSync(marker).mtimeMs < PRUNE_EVERY_MS) return 0;
  } catch {
    // Never pruned: prune now.
  }
  try {
    writeFileSync(marker, '');
    utimesSync(marker, now / 1000, now / 1000);
  } catch {
    return 0;
  }
  const window = (config.idempotency?.window_seconds ?? 0) * 1000;
  const kept: { path: string; at: number }[] = [];
  let removed = 0;
  for (const name of names) {
    if (name === '.pruned') continue;
    const path = join(directory, name);
    try {
      const at = statSync(path).mtimeMs;
      if (now - at > (name.endsWith('.tmp') ? PRUNE_EVERY_MS : window)) {
        unlinkSync(path);
        removed += 1;
      } else if (name.endsWith('.json')) kept.push({ path, at });
    } catch {
      // Pruned by another process meanwhile.
    }
  }
  kept.sort((a, b) => a.at - b.at);
  for (const { path } of kept.slice(0, Math.max(0, kept.length - max))) {
    try {
      unlinkSync(path);
      removed += 1;
    } catch {
      // Gone already.
    }
  }
  return removed;
}
