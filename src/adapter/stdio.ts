import { createInterface } from 'node:readline';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { Reply } from '../core/reply.js';
import type { RpcRequest } from '../core/request.js';

// `hvagent rpc`: one request on stdin, one reply on stdout.
// `hvagent rpc --stream`: one request per NDJSON line, replies in the same order; a bad
// line gets an error reply and the stream goes on. Requests run concurrently (bounded)
// so that a slow hypervisor call does not stall validation-only requests behind it.

const MAX_IN_FLIGHT = 64;

export async function runStdioOnce(dispatcher: Dispatcher): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  process.stdout.write(`${serialize(await dispatcher.handleText(text, 'stdio'))}\n`);
  warnAboutAudit(dispatcher);
  return 0;
}

export async function runStdioStream(dispatcher: Dispatcher): Promise<number> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let written = Promise.resolve();
  let inFlight = 0;
  let buffered = '';
  let flushScheduled = false;
  // Replies finished in the same turn of the event loop go out in one write: one
  // write per reply would cap throughput, and waiting longer would stall a person typing.
  let drained: Promise<unknown> = Promise.resolve();
  const flush = () => {
    flushScheduled = false;
    // A slow reader must slow us down, not make us buffer without bound.
    if (!process.stdout.write(buffered)) drained = new Promise((resolve) => process.stdout.once('drain', resolve));
    buffered = '';
  };
  const emit = (line: string) => {
    buffered += `${line}\n`;
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const answer = dispatcher.handleText(line, 'stdio');
    inFlight += 1;
    written = written.then(async () => {
      emit(serialize(await answer));
      warnAboutAudit(dispatcher);
      inFlight -= 1;
    });
    if (inFlight >= MAX_IN_FLIGHT) await Promise.all([written, drained]);
  }
  await written;
  if (buffered) flush();
  return 0;
}

/** stderr is free on stdio: the replies are on stdout. */
export function warnAboutAudit(dispatcher: Dispatcher): void {
  const warning = dispatcher.auditWarning();
  if (warning) process.stderr.write(`${warning}\n`);
}

/** Echoes the caller's requestid, when it sent one, so streamed replies can be matched. */
function serialize({ reply, request }: { reply: Reply; request?: RpcRequest }): string {
  return JSON.stringify(request?.requestid ? { requestid: request.requestid, ...reply } : reply);
}
