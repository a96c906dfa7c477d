import type { IncomingMessage } from 'node:http';

// A request body read straight from Node's stream with its size capped while it is read.
// hono's bodyLimit reads it through a fetch Request (a web ReadableStream made from the
// Node stream, Headers, an AbortSignal): about half a millisecond per request, which the
// hand-over of every MCollective and Choria request (POST /v1/rpc) paid.

/** The body's text, or undefined once it passes `limit` bytes (the rest is left unread: the refusal closes the connection). */
export function readCappedBody(incoming: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = incoming.headers['content-length'];
  if (declared !== undefined && incoming.headers['transfer-encoding'] === undefined && Number(declared) > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stop();
        incoming.pause();
        resolve(undefined);
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, size).toString('utf8'));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    // Closed before its end: the client went away mid-body.
    const onClose = () => onError(new Error('the client closed the connection before the end of its body'));
    incoming.on('data', onData);
    incoming.once('end', onEnd);
    incoming.once('error', onError);
    incoming.once('close', onClose);
  });
}
