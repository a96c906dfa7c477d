import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { lockKey, withLock } from '../files/locks.js';
import { fileFields, parseManifest } from './catalogue.js';
import { catalogueId, syncDirectory } from './catalogue-files.js';
import { MANIFEST_FILE, type ManifestEntry } from './manifest-schema.js';
import type { TemplateType } from './ref.js';

// Changes to catalogue.yaml, one at a time under the catalogue's lock: the manifest is read
// afresh under the lock (never from a cache), changed, checked whole against its schema, and
// written to a temporary file that is synced and renamed over it. A reader (a provision, a
// `template list`) sees the old manifest or the new one, never a part of either; two
// imports never lose each other's entry. Comments and the order of untouched entries survive
// (the yaml library edits the document, not a re-serialised copy).

export interface ManifestEditor {
  /** The usable entries as they are now, under the lock (unusable ones are left as they are). */
  readonly entries: readonly ManifestEntry[];
  /** The catalogue-relative files that some entry, usable or not, names now. */
  readonly namedFiles: ReadonlySet<string>;
  /** Adds the entry, or replaces the one of the same type and name. */
  put(entry: ManifestEntry): void;
  /** Removes the entry of this type and name; false when there is none. */
  remove(type: TemplateType, name: string): boolean;
}

type YamlModule = typeof import('yaml');

export async function editManifest<T>(config: HvConfig, directory: string, deadline: number, edit: (editor: ManifestEditor) => Promise<T> | T): Promise<T> {
  const yaml: YamlModule = await import('yaml');
  return withLock(lockKey.catalogue(catalogueId(directory)), { directory: config.paths.lock_dir, deadline }, async () => {
    const file = join(directory, MANIFEST_FILE);
    const document = readDocument(yaml, file);
    let parsed = parseManifest(document.toJS(), file);
    let changed = false;
    const sequence = () => {
      const templates = document.get('templates', true);
      if (!yaml.isSeq(templates)) throw new HvError('INTERNAL', `Template catalogue ${file}: templates is not a sequence`);
      return templates;
    };
    const indexOf = (type: string, name: string) =>
      sequence().items.findIndex((item) => yaml.isMap(item) && item.get('type') === type && item.get('name') === name);
    const editor: ManifestEditor = {
      get entries() {
        return parsed.entries;
      },
      get namedFiles() {
        return new Set([...parsed.entries.flatMap(fileFields), ...parsed.unusable.flatMap((unusable) => unusable.files)]);
      },
      put(entry) {
        const index = indexOf(entry.type, entry.name);
        const node = document.createNode(entry);
        if (index < 0) sequence().items.push(node);
        else sequence().items[index] = node;
        parsed = parseManifest(document.toJS(), file);
        const put = parsed.unusable.find((unusable) => unusable.index === (index < 0 ? sequence().items.length - 1 : index));
        if (put) throw new HvError('INTERNAL', `Template catalogue ${file}: the entry to write is not valid: ${put.problem}`);
        changed = true;
      },
      remove(type, name) {
        const index = indexOf(type, name);
        if (index < 0) return false;
        sequence().items.splice(index, 1);
        parsed = parseManifest(document.toJS(), file);
        changed = true;
        return true;
      },
    };
    const result = await edit(editor);
    if (changed) writeAtomically(directory, file, document.toString());
    return result;
  });
}

function readDocument(yaml: YamlModule, file: string) {
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new HvError('CONFIG_INVALID', `Template catalogue ${file} cannot be read: ${(error as Error).message}`);
  }
  if (text === undefined) {
    const fresh = new yaml.Document({ version: 1, templates: [] });
    fresh.commentBefore = ' hvagent template catalogue (docs/TEMPLATES.md). `template import` and `template delete` rewrite it.';
    return fresh;
  }
  const document = yaml.parseDocument(text);
  if (document.errors.length > 0) throw new HvError('CONFIG_INVALID', `Template catalogue ${file} is not valid YAML: ${document.errors[0]!.message}`);
  return document;
}

function writeAtomically(directory: string, file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, text, { mode: 0o644 });
    const descriptor = openSync(temp, 'r');
    try {
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDirectory(directory);
}
