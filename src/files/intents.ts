import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentScope } from '../core/scope.js';
import { nodeCrypto } from '../core/crypto.js';
import { processAlive, processStart } from '../process/identity.js';
import { temporaryRoot } from './temporary.js';

// The intent journal: one small JSON file per request that is changing something, in
// `<lock_dir>/intents/`. Before a step that makes something starts, the request writes how
// to undo it; when the request ends (done, or rolled back), the file goes. A file whose
// process is gone (killed, even with SIGKILL: its name holds the pid and the process's
// start time, so a reused pid is not mistaken for it) is work left half-made: the next
// request that starts, or that takes a lock the file names, undoes it before anything
// else (src/recovery/). A file left `abandoned` by a live process (a rollback that could
// not finish, libvirtd gone) is finished the same way.
//
// This layer only keeps the records; what each kind means is known above (recovery/).
// The files are written whole to a temporary name and renamed: a reader never sees half
// of one. They live on the lock directory's filesystem (a tmpfs by default): a host
// crash loses them, but then it also ended every process they could outlive.

/** One undo, as data: `kind` says which, the rest what it applies to. */
export interface UndoRecord {
  readonly kind: string;
  readonly [field: string]: string;
}

export interface IntentEntry {
  /** Lock keys of what the request changes: a request taking one of them finishes this first. */
  readonly keys: readonly string[];
  /** Undo records, in the order the steps were begun (undone in reverse). */
  readonly undos: readonly UndoRecord[];
  /** Set when the owner gave up undoing (it may still run): anyone may finish it. */
  readonly abandoned?: boolean;
  readonly what: string;
  readonly started_at: string;
  /** The owner's TMPDIR: its private temporary directories are removed with its work (temporary.ts). */
  readonly tmpdir?: string;
}

const NAME = /^(\d+)\.(\d+|x)\.[0-9a-f]{8}\.json$/;

export function intentDirectory(lockDirectory: string): string {
  return join(lockDirectory, 'intents');
}

/** The journal entry of one running request. */
export class Intent {
  readonly #path: string;
  #undos: UndoRecord[] = [];
  #ended = false;

  private constructor(
    readonly directory: string,
    readonly keys: readonly string[],
    readonly what: string,
  ) {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    this.#path = join(directory, `${process.pid}.${processStart(process.pid) ?? 'x'}.${nodeCrypto().randomBytes(4).toString('hex')}.json`);
  }

  /** Starts an entry; nothing is written before the first undo is recorded. */
  static begin(lockDirectory: string, keys: readonly string[], what: string): Intent {
    currentScope()?.markChanging();
    return new Intent(intentDirectory(lockDirectory), keys, what);
  }

  /** Records an undo before its step begins (written through at once). */
  record(undo: UndoRecord): void {
    if (this.#ended) return;
    this.#undos.push(undo);
    this.#write(false);
  }

  /** Records several undos at once (one write). */
  recordAll(undos: readonly UndoRecord[]): void {
    if (this.#ended || undos.length === 0) return;
    this.#undos.push(...undos);
    this.#write(false);
  }

  /** The request ended with nothing left to undo: the entry goes. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    rmSync(this.#path, { force: true });
  }

  /** The owner could not undo `left` (yet): anyone may finish them, now. */
  abandon(left: readonly UndoRecord[]): void {
    if (this.#ended) return;
    this.#undos = [...left];
    if (left.length === 0) return this.end();
    this.#ended = true;
    this.#write(true);
  }

  #write(abandoned: boolean): void {
    if (this.#undos.length === 0) {
      rmSync(this.#path, { force: true });
      return;
    }
    const entry: IntentEntry = { keys: this.keys, undos: this.#undos, what: this.what, started_at: new Date().toISOString(), tmpdir: temporaryRoot(), ...(abandoned && { abandoned }) };
    const temporary = `${this.#path}.tmp`;
    writeFileSync(temporary, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temporary, this.#path);
  }
}

/** An entry left by a request that will not finish it. */
export interface DeadIntent {
  readonly file: string;
  readonly name: string;
  readonly entry: IntentEntry;
}

/**
 * Journals found empty, with their directory's inode and mtime then: every request of the
 * server asks (src/dispatch/recover-first.ts), and while the mtime is unchanged nothing was
 * added, so one stat(2) answers instead of a readdir. Only a directory last changed over
 * SETTLED_MS before it was read is remembered: a file system stamps times at a clock tick's
 * granularity, so an entry made in the same tick as the last change would not move the mtime.
 */
const seenEmpty = new Map<string, { readonly ino: number; readonly mtimeMs: number }>();
const SETTLED_MS = 1000;

/**
 * The entries nobody is finishing: their process is gone, or gave them up. Cheap when
 * there are none (one stat, or one readdir); `key` keeps only those naming that lock key.
 */
export function deadIntents(lockDirectory: string, key?: string): DeadIntent[] {
  const directory = intentDirectory(lockDirectory);
  let names: string[];
  try {
    const seen = statSync(directory, { throwIfNoEntry: false });
    if (!seen) return [];
    const empty = seenEmpty.get(directory);
    if (empty && empty.ino === seen.ino && empty.mtimeMs === seen.mtimeMs) return [];
    names = readdirSync(directory);
    if (names.length === 0 && Date.now() - seen.mtimeMs > SETTLED_MS) seenEmpty.set(directory, { ino: seen.ino, mtimeMs: seen.mtimeMs });
    else seenEmpty.delete(directory);
  } catch {
    return [];
  }
  const found: DeadIntent[] = [];
  for (const name of names) {
    const match = NAME.exec(name);
    if (!match) {
      // A temporary file of a writer that died between write and rename.
      if (name.endsWith('.json.tmp') && !ownerAlive(name)) rmSync(join(directory, name), { force: true });
      continue;
    }
    const entry = readEntry(join(directory, name));
    if (!entry) continue;
    if (!entry.abandoned && ownerAlive(name)) continue;
    if (key !== undefined && !entry.keys.includes(key)) continue;
    found.push({ file: join(directory, name), name, entry });
  }
  return found;
}

/** Reads an entry again (another request may have finished it meanwhile: undefined). */
export function readEntry(file: string): IntentEntry | undefined {
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as IntentEntry;
    return Array.isArray(entry.undos) && Array.isArray(entry.keys) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Rewrites a dead entry with what is still left to undo, or removes it when nothing is. */
export function settleEntry(file: string, entry: IntentEntry, left: readonly UndoRecord[]): void {
  if (left.length === 0) {
    rmSync(file, { force: true });
    return;
  }
  writeFileSync(`${file}.tmp`, JSON.stringify({ ...entry, undos: left }), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** `PID.START` of an entry's owner, from its name. */
export function ownerOf(name: string): string {
  return name.split('.').slice(0, 2).join('.');
}

function ownerAlive(name: string): boolean {
  const match = /^(\d+)\.(\d+|x)\./.exec(name);
  if (!match) return false;
  return processAlive(Number(match[1]), match[2] === 'x' ? null : Number(match[2]));
}
