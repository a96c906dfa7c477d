import type { Socket } from 'node:net';
import { HvError } from '../../core/errors.js';
import { errorReply, type Reply } from '../../core/reply.js';
import { refusalOf, type Admission } from './admission.js';
import type { ServerContext } from './context.js';
import { handOver, type Answer } from './hand-over.js';
import { replyText } from './problems.js';

// The hand-over's own wire, beside HTTP on the unix socket: a connection whose first byte
// is `{` carries newline-delimited JSON. Each line is what POST /v1/rpc takes as its body;
// it is answered by the lines POST /v1/rpc streams (`{"record":…}` while it runs, when it
// asked for progress, then `{"reply":…}`). Every MCollective and Choria request on the
// host is handed over, and a server woken for one spent more time in Node's HTTP server
// (parsing, request and response objects, the body stream) than in the request itself
// (docs/PERFORMANCE.md, P6). What HTTP admits it admits the same way: the peer's uid is the
// caller, a line may be at most server.max_body_bytes long and must arrive whole within
// server.request_timeout_s, lines are answered one at a time and in order, and an idle
// connection is closed after the keep-alive time.

export interface HandOverConnection {
  /** Closes the connection now, or once its request in progress has been answered. */
  close(): void;
}

export interface StreamLimits {
  readonly idleMs: number;
}

export function answerHandOverStream(server: ServerContext, admission: Admission, socket: Socket, first: Buffer, limits: StreamLimits): HandOverConnection {
  const lines: string[] = [];
  let partial: Buffer[] = [];
  let partialSize = 0;
  let partialTimer: NodeJS.Timeout | undefined;
  let busy = false;
  let closing = false;
  let readEnded = false;

  const send = (text: string) => new Promise<void>((resolve) => (socket.writable ? socket.write(text, () => resolve()) : resolve()));
  const answer: Answer<Promise<void>> = {
    reply: (reply) => send(`{"reply":${replyText(reply)}}\n`),
    lines: (produce) => produce(send),
  };
  /** A line refused as a whole (too large, too slow): answered, and the connection ends (the rest of it cannot be trusted). */
  const refuseAndEnd = (reply: Reply) => {
    admission.refuse(reply, undefined);
    closing = true;
    partial = [];
    lines.length = 0;
    socket.pause();
    void answer.reply(reply).then(() => socket.destroySoon());
  };
  const startPartial = () => {
    partialTimer ??= setTimeout(() => {
      const seconds = server.config().server.request_timeout_s;
      refuseAndEnd(errorReply(new HvError('REQUEST_TIMEOUT', `The request line did not arrive whole within ${seconds} s (server.request_timeout_s)`)));
    }, server.config().server.request_timeout_s * 1000);
  };
  const endPartial = () => {
    clearTimeout(partialTimer);
    partialTimer = undefined;
  };

  const take = (chunk: Buffer) => {
    if (closing) return;
    const limit = server.config().server.max_body_bytes;
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, start)) {
      partialSize += newline - start;
      if (partialSize > limit) break;
      partial.push(chunk.subarray(start, newline));
      const line = Buffer.concat(partial, partialSize).toString('utf8');
      partial = [];
      partialSize = 0;
      endPartial();
      if (line.trim() !== '') lines.push(line);
      start = newline + 1;
    }
    if (partialSize <= limit && start < chunk.length) {
      partialSize += chunk.length - start;
      partial.push(chunk.subarray(start));
      startPartial();
    }
    if (partialSize > limit) {
      refuseAndEnd(errorReply(new HvError('REQUEST_TOO_LARGE', `The request line is longer than ${limit} bytes (server.max_body_bytes)`)));
      return;
    }
    void pump();
  };

  const pump = async (): Promise<void> => {
    if (busy) return;
    const line = lines.shift();
    if (line === undefined) {
      if (closing) socket.destroySoon();
      else if (readEnded) socket.end();
      return;
    }
    busy = true;
    // One line at a time: what the client sends meanwhile waits in the kernel, not here, and
    // a next line begun in the same chunk is not timed while it cannot be read.
    socket.pause();
    endPartial();
    await answerLine(line);
    busy = false;
    // A server that is stopping answers this line and takes no more on this connection.
    if (server.stopping()) closing = true;
    if (closing) {
      socket.destroySoon();
      return;
    }
    if (partialSize > 0) startPartial();
    socket.resume();
    void pump();
  };

  /** Answers one line, whatever becomes of it: a refusal is a reply line too. */
  const answerLine = async (line: string): Promise<void> => {
    let caller;
    let release = () => {};
    try {
      const entered = await admission.enterPeer(socket);
      caller = entered.caller;
      if ('refused' in entered) {
        admission.refuse(entered.refused.reply, caller);
        await answer.reply(entered.refused.reply);
        return;
      }
      release = entered.release;
      await handOver(server, entered.caller, line, socket, answer);
    } catch (error) {
      const refused = refusalOf(error);
      admission.refuse(refused.reply, caller);
      await answer.reply(refused.reply);
    } finally {
      release();
    }
  };

  socket.setTimeout(limits.idleMs, () => {
    if (!busy && partialSize === 0) socket.destroy();
  });
  socket.on('data', take);
  socket.on('end', () => {
    readEnded = true;
    endPartial();
    if (!busy && lines.length === 0) socket.end();
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', endPartial);
  take(first);
  socket.resume();
  return {
    // A kept connection is not waited for (the MCollective runner keeps its own for minutes):
    // an idle one is closed at once, a busy one once its answer is out.
    close() {
      closing = true;
      if (!busy) socket.destroy();
    },
  };
}
