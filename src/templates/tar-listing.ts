import { runProcess } from '../process/run.js';

// Reads GNU tar's verbose listing (`tar -tv --quoting-style=c --numeric-owner --full-time`):
// one member per line, names C-quoted, so a name with spaces, quotes, newlines, " -> " or
// bytes that are not UTF-8 cannot be mistaken for another member or for a link target.

/** Listing a large root file system takes minutes at worst (it is decompressed whole). */
const LISTING_TIMEOUT_MS = 10 * 60_000;
/** The verbose listing of a large root file system (one line per member). */
const LISTING_MAX_BYTES = 256 * 1024 * 1024;

export type MemberType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface ArchiveMember {
  type: MemberType;
  /** The name exactly as stored (bytes), for handing back to tar. */
  stored: Buffer;
  /** The name normalised for checks: bytes as latin1, leading `./` and trailing `/` removed ('' is the root). */
  path: string;
  /** Symlink or hard link target (latin1), as stored. */
  target?: string;
  /** Bytes of content (0 for links, directories and devices). */
  size: number;
}

const TYPES: Record<string, MemberType> = { '-': 'file', d: 'directory', l: 'symlink', h: 'hardlink', c: 'char', b: 'block', p: 'fifo' };
const ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, '?': 63, "'": 39 };

export class ListingError extends Error {}

/** Decodes a C-quoted string starting at `text[start]` (the opening quote); returns its bytes and where it ended. */
function readQuoted(text: string, start: number): { bytes: Buffer; end: number } {
  if (text[start] !== '"') throw new ListingError(`expected a quoted name at column ${start}`);
  const bytes: number[] = [];
  let i = start + 1;
  for (;;) {
    const ch = text[i];
    if (ch === undefined) throw new ListingError('unterminated quoted name');
    if (ch === '"') return { bytes: Buffer.from(bytes), end: i + 1 };
    if (ch !== '\\') {
      // The listing is read as latin1, so every character is one byte of the name.
      bytes.push(ch.charCodeAt(0));
      i += 1;
      continue;
    }
    const next = text[i + 1] ?? '';
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
    if (octal) {
      bytes.push(parseInt(octal[0], 8) & 0xff);
      i += 1 + octal[0].length;
    } else if (next in ESCAPES) {
      bytes.push(ESCAPES[next]!);
      i += 2;
    } else {
      throw new ListingError(`unknown escape \\${next}`);
    }
  }
}

export function normaliseMemberPath(name: string): string {
  let path = name;
  while (path.startsWith('./')) path = path.slice(2);
  while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path === '.' ? '' : path;
}

/** Parses the whole listing (decoded as latin1). Throws ListingError on anything it does not understand. */
export function parseTarListing(text: string): ArchiveMember[] {
  const members: ArchiveMember[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const quote = line.indexOf('"');
    if (quote < 0) throw new ListingError(`no quoted name in listing line ${JSON.stringify(line.slice(0, 120))}`);
    const meta = line.slice(0, quote).trim().split(/\s+/);
    const type = TYPES[meta[0]?.[0] ?? ''];
    if (!type) throw new ListingError(`member type '${meta[0]?.[0] ?? ''}' is not supported (line ${JSON.stringify(line.slice(0, 120))})`);
    const name = readQuoted(line, quote);
    const rest = line.slice(name.end);
    let target: string | undefined;
    const link = /^ (->|link to) (?=")/.exec(rest);
    if (link) {
      const quoted = readQuoted(rest, link[0].length);
      if (quoted.end !== rest.length) throw new ListingError(`trailing text after a link target in ${JSON.stringify(line.slice(0, 120))}`);
      target = quoted.bytes.toString('latin1');
    } else if (rest !== '') {
      throw new ListingError(`trailing text after a name in ${JSON.stringify(line.slice(0, 120))}`);
    }
    if ((type === 'symlink' || type === 'hardlink') !== (target !== undefined)) throw new ListingError(`link target missing or unexpected in ${JSON.stringify(line.slice(0, 120))}`);
    const size = type === 'file' ? Number(meta[2]) : 0;
    members.push({ type, stored: name.bytes, path: normaliseMemberPath(name.bytes.toString('latin1')), ...(target !== undefined && { target }), size: Number.isFinite(size) ? size : 0 });
  }
  return members;
}

/**
 * The members of an archive (plain, gzip or xz: tar recognises the compression by its
 * content). ListingError for a listing it cannot read; a ToolError when tar cannot read the file.
 */
export async function listArchive(file: string, signal?: AbortSignal): Promise<ArchiveMember[]> {
  const { stdout } = await runProcess('tar', ['--list', '--verbose', '--numeric-owner', '--full-time', '--quoting-style=c', '--file', file], {
    signal,
    timeoutMs: LISTING_TIMEOUT_MS,
    encoding: 'latin1',
    maxOutputBytes: LISTING_MAX_BYTES,
  });
  return parseTarListing(stdout);
}
