// The shape of a template catalogue's manifest (catalogue.yaml). Compiled ahead of time
// with the DDL validators (src/build/compile-ddl.ts): no schema is compiled at run time.
import type { Unflushed } from './durable.js';
import { TEMPLATE_NAME_PATTERN, TEMPLATE_TYPES } from './ref.js';

export const MANIFEST_FILE = 'catalogue.yaml';

/** A path relative to the catalogue directory; `..`, `.` segments and symlinks leading out are refused in code (catalogue.ts). */
const relativePath = { type: 'string', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z0-9_+@-][A-Za-z0-9._+@/-]*$' };
const archivePath = { ...relativePath, pattern: '^[A-Za-z0-9_+@-][A-Za-z0-9._+@/-]*\\.(tar|tar\\.gz|tgz|tar\\.xz|txz)$' };
/** Printable text; `lines` allows newlines and tabs (notes), else one line (tabs allowed). */
const text = (maxLength: number, lines = false) => ({
  type: 'string',
  maxLength,
  pattern: lines ? '^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f]*$' : '^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f]*$',
});

const common = {
  name: { type: 'string', pattern: TEMPLATE_NAME_PATTERN },
  type: { enum: [...TEMPLATE_TYPES] },
  description: { ...text(1024), minLength: 1 },
  os: text(128),
  notes: text(4096, true),
} as const;

/** What `template import` records about a file it brought in (docs/TEMPLATES.md). */
const imported = {
  /** SHA-256 of the source as it was read (compressed, if it was), verified at import. */
  sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  /** Where it came from: a URL without credentials or query, or a path. */
  source: text(2048),
  imported_at: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,12}Z$' },
  /** The file is not yet known to be on disk: flushed, or checked, before its first use (durable.ts). */
  unflushed: {
    type: 'object',
    additionalProperties: false,
    required: ['boot_id', 'bytes', 'data_map'],
    properties: {
      boot_id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
      bytes: { type: 'integer', minimum: 0 },
      data_map: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    },
  },
} as const;

const archive = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type', 'description', 'archive'],
  properties: { ...common, ...imported, archive: archivePath, overlay: archivePath },
} as const;

const byType = {
  image: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'type', 'description', 'file', 'format'],
    properties: { ...common, ...imported, file: relativePath, format: { enum: ['raw', 'qcow2'] } },
  },
  lxc: archive,
  tar: archive,
  /** An installer medium, attached read-only where it is (never copied). */
  iso: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'type', 'description', 'file'],
    properties: { ...common, ...imported, file: relativePath },
  },
  pxe: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'type', 'description', 'network', 'tftp_root', 'boot_file'],
    properties: {
      ...common,
      /** The libvirt network whose dnsmasq serves this template (see docs/TEMPLATES.md). */
      network: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' },
      /** Directory of the TFTP tree, relative to the catalogue. */
      tftp_root: relativePath,
      /** File the DHCP answer names, relative to tftp_root (e.g. pxelinux.0). */
      boot_file: relativePath,
      /** Host address and prefix of that network when hvagent defines it (e.g. 10.233.0.1/24). */
      address: { type: 'string', pattern: '^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])/(8|9|[12][0-9]|30)$' },
    },
  },
} as const;

export const manifestSchema = {
  $id: 'hv:template-catalogue',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'templates'],
  properties: {
    version: { const: 1 },
    templates: {
      type: 'array',
      maxItems: 10000,
      items: {
        type: 'object',
        required: ['type'],
        properties: { type: common.type },
        allOf: Object.entries(byType).map(([type, schema]) => ({
          if: { type: 'object', required: ['type'], properties: { type: { const: type } } },
          then: schema,
        })),
      },
    },
  },
} as const;

interface ManifestCommon {
  name: string;
  description: string;
  os?: string;
  notes?: string;
}

export interface ImportRecord {
  sha256?: string;
  source?: string;
  imported_at?: string;
  unflushed?: Unflushed;
}

export type ManifestEntry =
  | (ManifestCommon & ImportRecord & { type: 'image'; file: string; format: 'raw' | 'qcow2' })
  | (ManifestCommon & ImportRecord & { type: 'lxc' | 'tar'; archive: string; overlay?: string })
  | (ManifestCommon & ImportRecord & { type: 'iso'; file: string })
  | (ManifestCommon & { type: 'pxe'; network: string; tftp_root: string; boot_file: string; address?: string });

export interface Manifest {
  version: 1;
  templates: ManifestEntry[];
}
