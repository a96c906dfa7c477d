import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HvConfig } from '../../config/schema.js';
import { HvError } from '../../core/errors.js';
import type { OperationContext } from '../../core/operation.js';
import { resolveInside } from '../../files/containment.js';
import { Intent } from '../../files/intents.js';
import { lockKey } from '../../files/locks.js';
import { findTemplate, lookUpRef, readCatalogue } from '../catalogue.js';
import { catalogueDirectory, catalogueExists, catalogueId, createPartFile, importedFileName, removeEmptyDirectories, sameContent, sweepPartFiles, syncDirectory, type ImportableType } from '../catalogue-files.js';
import type { ManifestEntry } from '../manifest-schema.js';
import { editManifest } from '../manifest-write.js';
import { namedFiles, pruneCatalogue } from '../prune.js';
import { parseTemplateRef, templateRef } from '../ref.js';
import type { Template } from '../types.js';
import { contentCheck, type ImportFormat, type StoredForm } from './expect.js';
import { currentBoot, flushCanWait, unflushedRecord, type Unflushed } from '../durable.js';
import { settleEntry, unflushedOf } from '../first-use.js';
import { keepFlushing } from './flush.js';
import { inspectStored } from './inspect.js';
import { receive } from './receive.js';
import type { ContentKind } from './sniff.js';
import { openSource, sourceProblem, type OpenedSource } from './source.js';

// `template import`: a file or a download becomes a catalogue template (docs/TEMPLATES.md).
// The content goes to a part file nobody else sees, is checked whole, and only then is
// renamed to a new file of its own and named in the manifest, both under the manifest's
// lock. So a killed import leaves at most a part file (removed by the next import), a failed
// one leaves nothing, and a replaced template's old file never changes under its clones.
// When the file reaches the disk is templates.import_flush: before_reply flushes it as it is
// written (flush.ts) and the reply waits for the last of it; before_use (where the file
// system allows, durable.ts) names it at once, marked `unflushed`, and its first use flushes
// it, or after a restart checks it reached the disk whole (first-use.ts). Either way a
// crash never leaves a template used with a file that is not all on disk.

export interface ImportRequest {
  /** TYPE:NAME, or a bare name: the type of the one template of that name, else image. */
  readonly ref: string;
  /** An http(s) URL, or an absolute path under templates.import_dirs. */
  readonly source: string;
  /** Lower-case hex SHA-256 of the source as read (compressed, if it is). */
  readonly sha256?: string;
  readonly format: ImportFormat;
  readonly description?: string;
  readonly os?: string;
  readonly replace: boolean;
}

export interface ImportResult {
  readonly template: Template;
  readonly changed: boolean;
  /** An existing template got new content. */
  readonly replaced: boolean;
  /** Bytes read from the source (0 when the checksum showed there was nothing to do). */
  readonly bytesReceived: number;
  /** SHA-256 of the source, when given and verified. */
  readonly sha256: string | undefined;
  /** Old versions removed because nothing uses them any more. */
  readonly removed: readonly string[];
  /** Old versions kept because VMs or volumes still use them. */
  readonly kept: readonly string[];
}

export async function importTemplate(config: HvConfig, request: ImportRequest, ctx: OperationContext): Promise<ImportResult> {
  const written = parseTemplateRef(request.ref, 'ref');
  const problem = sourceProblem(request.source);
  if (problem) throw new HvError('INPUT_INVALID', `Input 'source' ${problem}`, { input: 'source' });
  const looked = lookUpRef((await readCatalogue(config)).entries, request.ref, 'ref');
  const type = looked.type ?? written.type ?? 'image';
  const { name } = looked;
  const ref = templateRef(type, name);
  if (type === 'pxe') throw new HvError('UNSUPPORTED', `Input 'ref': ${ref}: a PXE template is a TFTP tree served by a network; write its catalogue entry by hand (docs/TEMPLATES.md)`, { input: 'ref' });
  if (request.format !== 'auto' && type !== 'image') throw new HvError('INPUT_INVALID', `Input 'format' is for image templates; ${ref} is an ${type} template`, { input: 'format' });

  const madeCatalogue = !catalogueExists(config);
  const directory = catalogueDirectory(config, true);
  sweepPartFiles(directory);
  let entry = looked.entry;
  // Imported before a restart and never used since: whether it survived decides whether
  // this is the same content or a new import (a lost one is dropped, and recorded).
  const earlier = entry && unflushedOf(entry);
  if (entry && earlier && earlier.boot_id !== currentBoot() && (await settleEntry(config, directory, entry, ctx.signal))) entry = undefined;
  const sha256 = request.sha256?.toLowerCase();
  // The checksum can answer before anything is read: the one recorded at the last import
  // is the same source, so the same content. (Another one need not be other content: the
  // same image compressed differently has another checksum. That is found out by reading.)
  if (entry && entry.type !== 'pxe' && sha256 !== undefined && entry.sha256 === sha256) {
    const changed = await updateDescription(config, directory, ctx, entry, request);
    return { template: await findTemplate(config, ref, ctx.signal), changed, replaced: false, bytesReceived: 0, sha256, removed: [], kept: [] };
  }

  // Killed, the import leaves its part file, or a file renamed into place that the manifest
  // does not name yet: both are recorded before they exist, and the next request removes
  // them (src/recovery/; a file the manifest names by then is kept).
  const intent = Intent.begin(config.paths.lock_dir, [lockKey.catalogue(catalogueId(directory))], `template import ${ref}`);
  const part = await createPartFile(directory, (path) => intent.record({ kind: 'file', path }));
  const deferFlush = config.templates.import_flush === 'before_use' && flushCanWait(directory);
  const flushing = deferFlush ? undefined : keepFlushing(part.handle);
  let kept: string | undefined;
  let succeeded = false;
  try {
    const source = await openSource(config, request.source, ctx.signal);
    let form: StoredForm | undefined;
    let kind: ContentKind = 'unknown';
    const received = await receive(source, part, {
      decompress: type === 'image' || type === 'iso',
      check: (found) => {
        kind = found;
        contentCheck(type, request.format, source.shown, (stored) => (form = stored))(found);
      },
      hashSource: sha256 !== undefined,
      alone: flushing === undefined,
      maxBytes: config.templates.max_import_mb * 1048576,
      progress: ctx.progress,
      signal: ctx.signal,
    });
    if (sha256 !== undefined && received.sha256 !== sha256) {
      throw new HvError('CHECKSUM_MISMATCH', `Input 'sha256': ${source.shown} has SHA-256 ${received.sha256}, not ${sha256}; nothing was kept`, { input: 'sha256', actual: received.sha256 });
    }
    ctx.progress({ phase: 'checking', message: `${source.shown}: ${received.bytesStored} bytes` });
    const [inspected, unflushed] = await Promise.all([
      inspectStored(form!, kind, { path: part.path, handle: part.handle, bytes: received.bytesStored }, source.shown, ctx.signal),
      flushing ? flushing.finish().then(() => undefined) : unflushedRecord(part.path, received.bytesStored, ctx.signal),
    ]);
    await part.handle.close();

    ctx.progress({ phase: 'committing', message: ref });
    const sameAsBefore = entry ? await sameContent(entryFile(directory, entry), part.path).catch(() => false) : false;
    const committed = await editManifest(config, directory, ctx.deadline, async (editor) => {
      const current = editor.entries.find((candidate) => candidate.type === type && candidate.name === name);
      if (current) {
        // Another import may have committed since the comparison above.
        const same = entryFile(directory, current) === (entry && entryFile(directory, entry)) ? sameAsBefore : await sameContent(entryFile(directory, current), part.path).catch(() => false);
        if (same) return { changed: putDescription(editor, current, request, sha256), replaced: false };
        if (!request.replace) throw exists(ref);
      }
      const relative = importedFileName(type as ImportableType, name, inspected.extension);
      const target = join(directory, relative);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      intent.record({ kind: 'template-file', catalogue: directory, path: target });
      renameSync(part.path, target);
      kept = target;
      syncDirectory(dirname(target));
      editor.put(newEntry(type as ImportableType, name, relative, inspected.format, current, request, sha256, source, unflushed));
      return { changed: true, replaced: current !== undefined };
    });
    kept = undefined;
    succeeded = true;
    const pruned = await pruneCatalogue(config, ctx, false);
    return {
      template: await findTemplate(config, ref, ctx.signal),
      ...committed,
      bytesReceived: received.bytesIn,
      sha256,
      removed: pruned.removed,
      kept: pruned.kept.map((old) => old.file),
    };
  } finally {
    await flushing?.stop();
    await part.handle.close().catch(() => undefined);
    rmSync(part.path, { force: true });
    // Renamed into place but never named (the manifest could not be written): not a template.
    if (kept !== undefined) rmSync(kept, { force: true });
    if (!succeeded) removeEmptyDirectories(directory, { catalogue: madeCatalogue, parts: part.madeDirectory });
    intent.end();
  }
}

function exists(ref: string): HvError {
  return new HvError('TEMPLATE_EXISTS', `Template ${ref} exists with other content: give replace=true to replace it (VMs cloned from it keep the old file), or import under another name`, {
    input: 'ref',
  });
}

function entryFile(directory: string, entry: ManifestEntry): string {
  const relative = namedFiles(entry)[0]!;
  const resolved = resolveInside(directory, relative, 'file');
  return 'path' in resolved ? resolved.path : join(directory, relative);
}

function newEntry(
  type: ImportableType,
  name: string,
  relative: string,
  format: 'qcow2' | 'raw' | undefined,
  current: ManifestEntry | undefined,
  request: ImportRequest,
  sha256: string | undefined,
  source: OpenedSource,
  unflushed: Unflushed | undefined,
): ManifestEntry {
  const kept = current?.type === type ? current : undefined;
  const description = request.description ?? kept?.description ?? `Imported from ${source.shown}`.slice(0, 1024);
  const os = request.os ?? kept?.os;
  const common = { name, type, description, ...(os !== undefined && { os }), ...(kept?.notes !== undefined && { notes: kept.notes }) };
  const record = { ...(sha256 !== undefined && { sha256 }), source: source.shown.slice(0, 2048), imported_at: new Date().toISOString(), ...(unflushed && { unflushed }) };
  switch (type) {
    case 'image':
      return { ...common, type, file: relative, format: format!, ...record };
    case 'iso':
      return { ...common, type, file: relative, ...record };
    case 'lxc':
    case 'tar': {
      // An overlay the operator added stays over the new archive.
      const overlay = kept?.type === 'lxc' || kept?.type === 'tar' ? kept.overlay : undefined;
      return { ...common, type, archive: relative, ...(overlay !== undefined && { overlay }), ...record };
    }
  }
}

/** The same content: only a new description or os (or a checksum learnt now) changes the entry. */
function putDescription(editor: { put(entry: ManifestEntry): void }, current: ManifestEntry, request: ImportRequest, sha256: string | undefined): boolean {
  const updated = {
    ...current,
    ...(request.description !== undefined && { description: request.description }),
    ...(request.os !== undefined && { os: request.os }),
    ...(sha256 !== undefined && current.type !== 'pxe' && current.sha256 === undefined && { sha256 }),
  } as ManifestEntry;
  if (JSON.stringify(updated) === JSON.stringify(current)) return false;
  editor.put(updated);
  return true;
}

async function updateDescription(config: HvConfig, directory: string, ctx: OperationContext, entry: ManifestEntry, request: ImportRequest): Promise<boolean> {
  if (request.description === undefined && request.os === undefined) return false;
  return editManifest(config, directory, ctx.deadline, (editor) => {
    const current = editor.entries.find((candidate) => candidate.type === entry.type && candidate.name === entry.name);
    return current ? putDescription(editor, current, request, undefined) : false;
  });
}
