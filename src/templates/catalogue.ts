import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { catalogueValidator } from '../ddl/registry.js';
import { resolveInside } from '../files/containment.js';
import { readImageFacts } from './image-info.js';
import { MANIFEST_FILE, type Manifest, type ManifestEntry } from './manifest-schema.js';
import { parseTemplateRef, templateRef, type TemplateType } from './ref.js';
import type { Template } from './types.js';
import { compareText } from '../core/text-order.js';

// The catalogue: config templates.catalogue holds catalogue.yaml and the files it names.
// The manifest is validated whole (a precompiled schema, then names and paths); any
// problem is CONFIG_INVALID naming the entry and why. A host without a catalogue
// directory or manifest simply has no templates.

export interface Catalogue {
  /** The catalogue directory (real path when it exists). */
  directory: string;
  manifest: string;
  entries: ManifestEntry[];
}

const EMPTY: ManifestEntry[] = [];
// Per process, keyed by the manifest's identity: a stdio stream re-reads it only when it changed.
let cached: { key: string; catalogue: Catalogue } | undefined;

export async function readCatalogue(config: HvConfig): Promise<Catalogue> {
  const configured = config.templates.catalogue;
  let directory: string;
  try {
    directory = realpathSync(configured);
  } catch {
    return { directory: configured, manifest: join(configured, MANIFEST_FILE), entries: EMPTY };
  }
  const manifest = join(directory, MANIFEST_FILE);
  let key: string;
  try {
    const stats = statSync(manifest);
    key = `${manifest}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  } catch {
    return { directory, manifest, entries: EMPTY };
  }
  if (cached?.key === key) return cached.catalogue;
  const catalogue = { directory, manifest, entries: parseManifest(await readYaml(manifest), manifest) };
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

/** Checks a parsed manifest against the schema and for duplicates; returns its entries. */
export function parseManifest(raw: unknown, file: string): ManifestEntry[] {
  const validateCatalogue = catalogueValidator();
  if (!validateCatalogue(raw)) throw new HvError('CONFIG_INVALID', `Template catalogue ${file}: ${describeSchemaError(raw, validateCatalogue.errors?.[0])}`);
  const entries = (raw as Manifest).templates;
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const ref = templateRef(entry.type, entry.name);
    const first = seen.get(ref);
    if (first !== undefined) throw new HvError('CONFIG_INVALID', `Template catalogue ${file}: templates[${index}] (${ref}) repeats templates[${first}]`);
    seen.set(ref, index);
  });
  return entries;
}

function describeSchemaError(raw: unknown, error: ErrorObject | undefined): string {
  if (!error) return 'is invalid';
  const path = error.instancePath.split('/').slice(1);
  let where = path.length ? path.join('.') : 'top level';
  if (path[0] === 'templates' && path[1] !== undefined) {
    const entry = (raw as { templates: Array<Record<string, unknown>> }).templates[Number(path[1])];
    const label = typeof entry?.type === 'string' && typeof entry.name === 'string' ? ` (${entry.type}:${entry.name})` : '';
    where = `templates[${path[1]}]${label}${path.length > 2 ? ` ${path.slice(2).join('.')}` : ''}`;
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
    throw new HvError('CONFIG_INVALID', `Template catalogue ${catalogue.manifest}: ${ref}: ${problem}`, { template: ref });
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

/** Every template of the catalogue, resolved and checked, sorted by ref. */
export async function listTemplates(config: HvConfig, signal?: AbortSignal): Promise<Template[]> {
  const catalogue = await readCatalogue(config);
  const templates = await Promise.all(catalogue.entries.map((entry) => resolveEntry(catalogue, entry, signal)));
  return templates.sort((a, b) => compareText(a.ref, b.ref));
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
  const catalogue = await readCatalogue(config);
  const { type, name, entry } = lookUpRef(catalogue.entries, ref, input, bareType);
  if (!entry) {
    const known = catalogue.entries.map((candidate) => templateRef(candidate.type, candidate.name)).sort();
    const shown = known.length > 50 ? [...known.slice(0, 50), `… ${known.length - 50} more`] : known;
    const listed = known.length ? `templates: ${shown.join(', ')}` : `the catalogue ${catalogue.directory} holds no templates`;
    throw new HvError('NOT_FOUND', `No template ${type === undefined ? name : templateRef(type, name)}; ${listed}`, { input, known: shown });
  }
  return resolveEntry(catalogue, entry, signal);
}
