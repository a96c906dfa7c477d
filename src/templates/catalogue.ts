import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { catalogueValidator } from '../ddl/registry.js';
import { resolveInside } from '../files/containment.js';
import { readImageFacts } from './image-info.js';
import { MANIFEST_FILE, type ManifestEntry } from './manifest-schema.js';
import { parseTemplateRef, TEMPLATE_NAME_PATTERN, TEMPLATE_TYPES, templateRef, type TemplateType } from './ref.js';
import type { Template } from './types.js';
import { compareText } from '../core/text-order.js';

// The catalogue: config templates.catalogue holds catalogue.yaml and the files it names.
// The manifest's frame (version, a list of templates) is validated whole: a broken frame
// is CONFIG_INVALID. Each entry is validated on its own (the precompiled schema, then
// duplicates, then its files when it is resolved): a bad entry is set aside as unusable,
// with its problem, and only it; `template list` reports it beside the others. A host
// without a catalogue directory or manifest simply has no templates.

/** A catalogue entry that cannot be used: it is left out, and only it. */
export interface UnusableEntry {
  /** Its place in the manifest (templates[index]). */
  readonly index: number;
  /** TYPE:NAME, when the entry gives them readably. */
  readonly ref: string | null;
  readonly problem: string;
  /** The files it names: kept by prune and delete as long as it names them. */
  readonly files: readonly string[];
}

/** What a manifest holds: its usable entries (with their places) and the unusable ones. */
export interface ParsedManifest {
  /** The usable entries, in manifest order. */
  entries: ManifestEntry[];
  unusable: UnusableEntry[];
  /** Each usable entry's place in the manifest. */
  indexes: Map<ManifestEntry, number>;
}

export interface Catalogue extends ParsedManifest {
  /** The catalogue directory (real path when it exists). */
  directory: string;
  manifest: string;
}

const EMPTY: ManifestEntry[] = [];
const MAX_ENTRIES = 10000;
// Per process, keyed by the manifest's identity: a stdio stream re-reads it only when it changed.
let cached: { key: string; catalogue: Catalogue } | undefined;

export async function readCatalogue(config: HvConfig): Promise<Catalogue> {
  const configured = config.templates.catalogue;
  let directory: string;
  try {
    directory = realpathSync(configured);
  } catch {
    return { directory: configured, manifest: join(configured, MANIFEST_FILE), entries: EMPTY, unusable: [], indexes: new Map() };
  }
  const manifest = join(directory, MANIFEST_FILE);
  let key: string;
  try {
    const stats = statSync(manifest);
    key = `${manifest}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  } catch {
    return { directory, manifest, entries: EMPTY, unusable: [], indexes: new Map() };
  }
  if (cached?.key === key) return cached.catalogue;
  const catalogue = { directory, manifest, ...parseManifest(await readYaml(manifest), manifest) };
  cached = { key, catalogue };
  return catalogue;
}

async function readYaml(file: string): Promise<unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new HvError('CONFIG_INVALID', `Template catalogue ${file} cannot be read: ${(error as Error).message}`);
  }
  const { parse } = await import('yaml');
  try {
    return parse(text);
  } catch (error) {
    throw new HvError('CONFIG_INVALID', `Template catalogue ${file} is not valid YAML: ${(error as Error).message}`);
  }
}

/**
 * Checks a parsed manifest: its frame whole (CONFIG_INVALID when broken), then each entry on
 * its own against the schema and for a repeated TYPE:NAME (the first one is used).
 */
export function parseManifest(raw: unknown, file: string): ParsedManifest {
  const validateCatalogue = catalogueValidator();
  const templates = isRecord(raw) ? raw.templates : undefined;
  // The frame alone: the entries are judged one by one below.
  if (!validateCatalogue(Array.isArray(templates) ? { ...(raw as object), templates: [] } : raw)) {
    throw new HvError('CONFIG_INVALID', `Template catalogue ${file}: ${describeSchemaError(raw, validateCatalogue.errors?.[0])}`);
  }
  const candidates = templates as unknown[];
  if (candidates.length > MAX_ENTRIES) throw new HvError('CONFIG_INVALID', `Template catalogue ${file}: templates has ${candidates.length} entries, more than ${MAX_ENTRIES}`);
  const parsed: ParsedManifest = { entries: [], unusable: [], indexes: new Map() };
  const seen = new Map<string, number>();
  candidates.forEach((candidate, index) => {
    const unusable = (problem: string, ref = readableRef(candidate)) => parsed.unusable.push({ index, ref, problem, files: fileFields(candidate) });
    if (!validateCatalogue({ version: 1, templates: [candidate] })) return unusable(describeSchemaError({ templates: [candidate] }, validateCatalogue.errors?.[0], index));
    const entry = candidate as ManifestEntry;
    const ref = templateRef(entry.type, entry.name);
    const first = seen.get(ref);
    if (first !== undefined) return unusable(`templates[${index}] (${ref}) repeats templates[${first}], which is the one used`, ref);
    seen.set(ref, index);
    parsed.entries.push(entry);
    parsed.indexes.set(entry, index);
  });
  return parsed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** TYPE:NAME of an entry that gives both readably, whatever else is wrong with it. */
function readableRef(candidate: unknown): string | null {
  if (!isRecord(candidate)) return null;
  const { type, name } = candidate;
  return typeof type === 'string' && (TEMPLATE_TYPES as readonly string[]).includes(type) && typeof name === 'string' && new RegExp(TEMPLATE_NAME_PATTERN).test(name)
    ? templateRef(type as TemplateType, name)
    : null;
}

/** The file fields an entry has, whatever their type: what prune and delete must not remove under it. */
export function fileFields(candidate: unknown): string[] {
  if (!isRecord(candidate)) return [];
  return ['file', 'archive', 'overlay'].map((key) => candidate[key]).filter((value): value is string => typeof value === 'string');
}

/** `shownIndex`: the entry's place in the manifest when `raw` holds only that entry. */
function describeSchemaError(raw: unknown, error: ErrorObject | undefined, shownIndex?: number): string {
  if (!error) return 'is invalid';
  const path = error.instancePath.split('/').slice(1);
  let where = path.length ? path.join('.') : 'top level';
  if (path[0] === 'templates' && path[1] !== undefined) {
    const entry = (raw as { templates: Array<Record<string, unknown>> }).templates[Number(path[1])];
    const label = typeof entry?.type === 'string' && typeof entry.name === 'string' ? ` (${entry.type}:${entry.name})` : '';
    where = `templates[${shownIndex ?? path[1]}]${label}${path.length > 2 ? ` ${path.slice(2).join('.')}` : ''}`;
  }
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where} has an unknown key '${String(error.params.additionalProperty)}'`;
    case 'required':
      return `${where} lacks '${String(error.params.missingProperty)}'`;
    case 'enum':
      return `${where} must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `${where} must be ${JSON.stringify(error.params.allowedValue)}`;
    case 'pattern':
      return `${where} ${JSON.stringify(valueAt(raw, path))} is not allowed (must match ${String(error.params.pattern)})`;
    default:
      return `${where} ${error.message ?? 'is invalid'}`;
  }
}

function valueAt(raw: unknown, path: string[]): unknown {
  return path.reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], raw);
}

/** Resolves one entry: its files inside the catalogue, its image facts. */
export async function resolveEntry(catalogue: Catalogue, entry: ManifestEntry, signal?: AbortSignal): Promise<Template> {
  const ref = templateRef(entry.type, entry.name);
  const refuse = (problem: string): never => {
    throw new HvError('CONFIG_INVALID', `Template catalogue ${catalogue.manifest}: ${ref}: ${problem}`, { template: ref, problem });
  };
  const inside = (relative: string, kind: 'file' | 'directory', root = catalogue.directory): string => {
    const resolved = resolveInside(root, relative, kind);
    return 'path' in resolved ? resolved.path : refuse(resolved.problem);
  };
  const base = {
    name: entry.name,
    ref,
    description: entry.description,
    ...(entry.os !== undefined && { os: entry.os }),
    ...(entry.notes !== undefined && { notes: entry.notes }),
    ...(entry.type !== 'pxe' && entry.sha256 !== undefined && { sha256: entry.sha256 }),
  };
  switch (entry.type) {
    case 'image': {
      const path = inside(entry.file, 'file');
      const facts = await readImageFacts(path, entry.format).catch((error: HvError) => refuse(`${entry.file}: ${error.message}`));
      if (facts.problem) refuse(`${entry.file} ${facts.problem}`);
      return { ...base, type: 'image', path, format: entry.format, virtualSizeMb: facts.virtualSizeMb, fileBytes: facts.fileBytes };
    }
    case 'lxc':
    case 'tar': {
      const archive = inside(entry.archive, 'file');
      const overlay = entry.overlay === undefined ? undefined : inside(entry.overlay, 'file');
      const fileBytes = statSync(archive).size + (overlay ? statSync(overlay).size : 0);
      return { ...base, type: entry.type, archive, ...(overlay && { overlay }), fileBytes };
    }
    case 'pxe': {
      const tftpRoot = inside(entry.tftp_root, 'directory');
      inside(entry.boot_file, 'file', tftpRoot);
      return { ...base, type: 'pxe', network: entry.network, bootFile: entry.boot_file, tftpRoot, ...(entry.address && { address: entry.address }) };
    }
    case 'iso': {
      const path = inside(entry.file, 'file');
      return { ...base, type: 'iso', path, fileBytes: statSync(path).size };
    }
  }
}

export interface TemplateListing {
  /** The catalogue directory read. */
  directory: string;
  /** Every usable template, resolved and checked, sorted by ref. */
  templates: Template[];
  /** The entries that cannot be used (the manifest's and those whose files fail their checks), in manifest order. */
  unusable: UnusableEntry[];
}

/** Every template of the catalogue; an entry that fails to resolve is unusable, and only it. */
export async function listTemplates(config: HvConfig, signal?: AbortSignal): Promise<TemplateListing> {
  const catalogue = await readCatalogue(config);
  const resolved = await Promise.allSettled(catalogue.entries.map((entry) => resolveEntry(catalogue, entry, signal)));
  const templates: Template[] = [];
  const unusable = [...catalogue.unusable];
  resolved.forEach((outcome, position) => {
    if (outcome.status === 'fulfilled') return void templates.push(outcome.value);
    const entry = catalogue.entries[position]!;
    const failure = outcome.reason as HvError;
    const ref = templateRef(entry.type, entry.name);
    const problem = typeof failure.details?.problem === 'string' ? failure.details.problem : failure.message;
    unusable.push({ index: catalogue.indexes.get(entry)!, ref, problem: `${ref}: ${problem}`, files: fileFields(entry) });
  });
  return {
    directory: catalogue.directory,
    templates: templates.sort((a, b) => compareText(a.ref, b.ref)),
    unusable: unusable.sort((a, b) => a.index - b.index),
  };
}


/** What a written reference names in a catalogue. */
export interface LookedUp {
  /** undefined: a bare name that no template has. */
  type: TemplateType | undefined;
  name: string;
  entry: ManifestEntry | undefined;
}

/**
 * Reads `type:name`, or a bare name: `bareType` when the caller knows what a bare name
 * means (a VM class's default type), else the type of the one template of that name. A
 * bare name that several templates share is INPUT_INVALID listing them.
 */
export function lookUpRef(entries: readonly ManifestEntry[], ref: string, input: string, bareType?: TemplateType): LookedUp {
  const written = parseTemplateRef(ref, input);
  const type = written.type ?? bareType;
  const { name } = written;
  if (type !== undefined) return { type, name, entry: entries.find((candidate) => candidate.type === type && candidate.name === name) };
  const named = entries.filter((candidate) => candidate.name === name);
  if (named.length > 1) {
    const refs = named.map((candidate) => templateRef(candidate.type, candidate.name)).sort();
    throw new HvError('INPUT_INVALID', `Input '${input}': several templates are named ${name} (${refs.join(', ')}): give TYPE:NAME`, { input, known: refs });
  }
  return { type: named[0]?.type, name, entry: named[0] };
}

/**
 * One template by `type:name` or a bare name (lookUpRef): INPUT_INVALID for a malformed or
 * ambiguous ref, NOT_FOUND (listing what exists) for an unknown one.
 */
export async function findTemplate(config: HvConfig, ref: string, signal?: AbortSignal, input = 'template', bareType?: TemplateType): Promise<Template> {
  return templateIn(await readCatalogue(config), ref, signal, input, bareType);
}

/** findTemplate in a catalogue already read. */
export async function templateIn(catalogue: Catalogue, ref: string, signal?: AbortSignal, input = 'template', bareType?: TemplateType): Promise<Template> {
  const { type, name, entry } = lookUpRef(catalogue.entries, ref, input, bareType);
  if (!entry) {
    const broken = catalogue.unusable.find((candidate) => candidate.ref !== null && (type === undefined ? candidate.ref.endsWith(`:${name}`) : candidate.ref === templateRef(type, name)));
    if (broken) throw new HvError('CONFIG_INVALID', `Template ${broken.ref} cannot be used: catalogue ${catalogue.manifest}: ${broken.problem}`, { input, template: broken.ref });
    const known = catalogue.entries.map((candidate) => templateRef(candidate.type, candidate.name)).sort();
    const shown = known.length > 50 ? [...known.slice(0, 50), `… ${known.length - 50} more`] : known;
    const listed = known.length ? `templates: ${shown.join(', ')}` : `the catalogue ${catalogue.directory} holds no templates`;
    throw new HvError('NOT_FOUND', `No template ${type === undefined ? name : templateRef(type, name)}; ${listed}`, { input, known: shown });
  }
  return resolveEntry(catalogue, entry, signal);
}
