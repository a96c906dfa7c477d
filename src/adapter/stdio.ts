import type { RequestDispatcher } from '../dispatch/dispatcher.js';
import { errorReply, type Reply } from '../core/reply.js';
import type { RpcRequest } from '../core/request.js';
import { readRequestLines, readRequestStream } from './bounded-input.js';

// `hvagent rpc`: one request on stdin, one reply on stdout.
// `hvagent rpc --stream`: one request per NDJSON line, replies in the same order; a bad
// line gets an error reply and the stream goes on. Requests run concurrently (bounded)
// so that a slow hypervisor call does not stall validation-only requests behind it.
// A request (a line) is capped at MAX_REQUEST_BYTES while it is read (bounded-input.ts).

const MAX_IN_FLIGHT = 64;

export async function runStdioOnce(dispatcher: RequestDispatcher): Promise<number> {
  // An oversized request is answered at once; the rest of it is then read and dropped.
  const read = await readRequestStream(process.stdin, undefined, (refusal) => {
    const reply = errorReply(refusal);
    void dispatcher.recordRefusal('stdio', reply);
    process.stdout.write(`${serialize({ reply })}\n`);
  });
  if ('text' in read) process.stdout.write(`${serialize(await dispatcher.handleText(read.text, 'stdio'))}\n`);
  warnAboutAudit(dispatcher);
  return 0;
}

export async function runStdioStream(dispatcher: RequestDispatcher): Promise<number> {
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
  for await (const line of readRequestLines(process.stdin)) {
    if ('text' in line && line.text.trim() === '') continue;
    const answer = 'text' in line ? dispatcher.handleText(line.text, 'stdio') : Promise.resolve({ reply: errorReply(line.tooLarge) });
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
export function warnAboutAudit(dispatcher: RequestDispatcher): void {
  const warning = dispatcher.auditWarning();
  if (warning) process.stderr.write(`${warning}\n`);
}

/** Echoes the caller's requestid, when it sent one, so streamed replies can be matched. */
function serialize({ reply, request }: { reply: Reply; request?: RpcRequest }): string {
  return JSON.stringify(request?.requestid ? { requestid: request.requestid, ...reply } : reply);
}
