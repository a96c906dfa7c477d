import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { HvConfig } from '../../config/schema.js';
import { HvError } from '../../core/errors.js';
import { resolveAllowedPath } from '../../files/containment.js';
import { VERSION } from '../../version.js';

// Where an import reads from: a file under one of templates.import_dirs, or an http(s) URL
// fetched with Node's own client. A download is bounded three ways, each a DOWNLOAD_FAILED
// naming the source: nothing received for download_stall_s (connecting included), longer
// than download_timeout_s in all, or more bytes than max_import_mb (QUOTA_EXCEEDED, said
// up front when the server announces its length).

export interface OpenedSource {
  readonly stream: Readable;
  /** Bytes the source holds, when known (a file's size, Content-Length). */
  readonly totalBytes: number | undefined;
  /** The source as messages and the catalogue show it: a URL without credentials, query or fragment. */
  readonly shown: string;
  readonly remote: boolean;
  /** A local file's open handle (the path it was opened by is never used again). */
  readonly file?: FileHandle;
  /** Called for every chunk received: a download that receives nothing for download_stall_s is given up. */
  alive(): void;
  /** The error to report for a failure of the stream: the stall or timeout that caused it, if one did. */
  explain(error: unknown): unknown;
  close(): void;
}

const READ_CHUNK = 4 * 1024 * 1024;

/** A URL as it may be shown and recorded: credentials, query and fragment can hold secrets. */
export function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export function sourceProblem(source: string): string | undefined {
  if (source.startsWith('/')) return undefined;
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return 'is neither an absolute path nor a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `is a ${url.protocol.slice(0, -1)} URL: give an http:// or https:// URL, or an absolute path`;
  return undefined;
}

export async function openSource(config: HvConfig, source: string, signal: AbortSignal): Promise<OpenedSource> {
  const problem = sourceProblem(source);
  if (problem) throw new HvError('INPUT_INVALID', `Input 'source' ${problem}`, { input: 'source' });
  return source.startsWith('/') ? openFile(config, source) : download(config, new URL(source), signal);
}

async function openFile(config: HvConfig, path: string): Promise<OpenedSource> {
  const real = resolveAllowedPath('source', path, 'file', config.templates.import_dirs, 'the import directories (templates.import_dirs)');
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  const { size } = await handle.stat();
  const stream = handle.createReadStream({ highWaterMark: READ_CHUNK, autoClose: true });
  return {
    stream,
    totalBytes: size,
    shown: path,
    remote: false,
    file: handle,
    alive: () => undefined,
    explain: (error) => error,
    close: () => stream.destroy(),
  };
}

async function download(config: HvConfig, url: URL, signal: AbortSignal): Promise<OpenedSource> {
  const shown = shownUrl(url);
  const { download_stall_s: stallSeconds, download_timeout_s: timeoutSeconds, max_import_mb: maxMb } = config.templates;
  const controller = new AbortController();
  let failure: HvError | undefined;
  const giveUp = (why: string) => {
    failure ??= new HvError('DOWNLOAD_FAILED', `Input 'source': ${shown} ${why}; nothing was kept`, { input: 'source' });
    controller.abort(failure);
  };
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let stall: NodeJS.Timeout | undefined;
  const alive = () => {
    clearTimeout(stall);
    stall = setTimeout(() => giveUp(`sent nothing for ${stallSeconds} s`), stallSeconds * 1000);
  };
  const overall = setTimeout(() => giveUp(`took longer than ${timeoutSeconds} s (templates.download_timeout_s)`), timeoutSeconds * 1000);
  const close = () => {
    clearTimeout(stall);
    clearTimeout(overall);
    signal.removeEventListener('abort', onAbort);
  };
  const explain = (error: unknown): unknown => {
    if (failure) return failure;
    if (signal.aborted || error instanceof HvError) return error;
    return new HvError('DOWNLOAD_FAILED', `Input 'source': ${shown}: ${networkProblem(error)}; nothing was kept`, { input: 'source' }, { cause: error });
  };
  alive();
  // fetch takes no credentials in a URL: they go as Basic authentication.
  const target = new URL(url);
  const credentials = target.username || target.password ? `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}` : undefined;
  target.username = '';
  target.password = '';
  let response: Response;
  try {
    response = await fetch(target, {
      signal: controller.signal,
      // The bytes as the server stores them: a .gz served with Content-Encoding: gzip must
      // not be decoded on the way, or its checksum would not match.
      headers: {
        'accept-encoding': 'identity',
        'user-agent': `hvagent/${VERSION}`,
        ...(credentials !== undefined && { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` }),
      },
      redirect: 'follow',
    });
  } catch (error) {
    close();
    throw explain(error);
  }
  const refuse = (error: HvError): never => {
    close();
    void response.body?.cancel().catch(() => undefined);
    throw error;
  };
  if (!response.ok || !response.body) {
    refuse(new HvError('DOWNLOAD_FAILED', `Input 'source': ${shown} answered ${response.status} ${response.statusText}; nothing was kept`, { input: 'source', http_status: response.status }));
  }
  const length = response.headers.get('content-length');
  const totalBytes = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
  if (totalBytes !== undefined && totalBytes > maxMb * 1048576) {
    refuse(new HvError('QUOTA_EXCEEDED', `Input 'source': ${shown} is ${Math.ceil(totalBytes / 1048576)} MiB, more than templates.max_import_mb (${maxMb} MiB); nothing was kept`, { input: 'source' }));
  }
  const stream = Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream<Uint8Array>);
  return {
    stream,
    totalBytes,
    shown,
    remote: true,
    alive,
    explain,
    close: () => {
      close();
      stream.destroy();
    },
  };
}

/** What went wrong with the network, in a few words (undici hides the reason in `cause`). */
function networkProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return 'host not found';
    case 'EAI_AGAIN':
      return 'host name could not be resolved';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connecting timed out';
    case 'UND_ERR_SOCKET':
      return 'the connection closed before the whole file arrived';
    default:
      return cause?.message ?? (error as Error | undefined)?.message ?? String(error);
  }
}
