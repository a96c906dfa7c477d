import { join } from 'node:path';
import { HvError } from '../core/errors.js';
import { ensureDirectoryInside, writeFileNoFollow } from '../files/inside-tree.js';
import { compareText } from '../core/text-order.js';

// The first-boot file tells a freshly unpacked system who it is: its name and its NICs.
// Two twins in /etc/hvagent of the root directory (format in docs/TEMPLATES.md):
//   firstboot.conf  KEY='value' lines, for `. /etc/hvagent/firstboot.conf` in a shell
//   firstboot.json  the same as JSON, for anything else
// Written without following any symlink of the unpacked tree: the tree is the template's,
// and /etc or /etc/hvagent in it could point anywhere on the host.

export interface FirstBoot {
  name: string;
  nics: Array<{ mac: string; network?: string; bridge?: string }>;
  metadata?: Record<string, string>;
}

export const FIRSTBOOT_DIRECTORY = 'etc/hvagent';
export const FIRSTBOOT_VERSION = 1;

const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const NETWORK = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const METADATA_KEY = /^[a-z][a-z0-9_]{0,31}$/;
// Printable text (any language) and tabs: a line-based reader must see one line per key.
const METADATA_VALUE = /^[^\u0000-\u0008\u000a-\u001f\u007f]{0,1024}$/u;

function refuse(message: string): never {
  throw new HvError('INPUT_INVALID', `First-boot settings: ${message}`);
}

export function checkFirstBoot(firstBoot: FirstBoot): void {
  if (!VM_NAME.test(firstBoot.name)) refuse(`name ${JSON.stringify(firstBoot.name)} is not a VM name`);
  if (firstBoot.nics.length > 64) refuse('more than 64 NICs');
  firstBoot.nics.forEach((nic, i) => {
    if (!MAC.test(nic.mac)) refuse(`nics[${i}].mac ${JSON.stringify(nic.mac)} is not a lower-case MAC address`);
    for (const key of ['network', 'bridge'] as const) {
      const value = nic[key];
      if (value !== undefined && !NETWORK.test(value)) refuse(`nics[${i}].${key} ${JSON.stringify(value)} is not a network or bridge name`);
    }
  });
  const metadata = Object.entries(firstBoot.metadata ?? {});
  if (metadata.length > 64) refuse('more than 64 metadata keys');
  for (const [key, value] of metadata) {
    if (!METADATA_KEY.test(key)) refuse(`metadata key ${JSON.stringify(key)} must match ${METADATA_KEY.source}`);
    if (typeof value !== 'string' || !METADATA_VALUE.test(value)) refuse(`metadata ${key} must be at most 1024 printable characters on one line`);
  }
}

/** A shell single-quoted word: safe whatever the value holds. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export function firstBootShell(firstBoot: FirstBoot): string {
  const lines: Array<[string, string]> = [
    ['HVAGENT_FIRSTBOOT_VERSION', String(FIRSTBOOT_VERSION)],
    ['HVAGENT_NAME', firstBoot.name],
    ['HVAGENT_NIC_COUNT', String(firstBoot.nics.length)],
  ];
  firstBoot.nics.forEach((nic, i) => {
    lines.push([`HVAGENT_NIC${i}_MAC`, nic.mac], [`HVAGENT_NIC${i}_NETWORK`, nic.network ?? ''], [`HVAGENT_NIC${i}_BRIDGE`, nic.bridge ?? '']);
  });
  for (const [key, value] of Object.entries(firstBoot.metadata ?? {}).sort(([a], [b]) => compareText(a, b))) {
    lines.push([`HVAGENT_META_${key.toUpperCase()}`, value]);
  }
  const header = '# Written by hvagent when this system was provisioned. Read with: . /etc/hvagent/firstboot.conf\n';
  return header + lines.map(([key, value]) => `${key}=${shellQuote(value)}\n`).join('');
}

export function firstBootJson(firstBoot: FirstBoot): string {
  const nics = firstBoot.nics.map((nic) => ({ mac: nic.mac, network: nic.network ?? null, bridge: nic.bridge ?? null }));
  return `${JSON.stringify({ version: FIRSTBOOT_VERSION, name: firstBoot.name, nics, metadata: firstBoot.metadata ?? {} }, null, 2)}\n`;
}

/** Writes /etc/hvagent/firstboot.{conf,json} into the root directory `root`. */
export function writeFirstBoot(root: string, firstBoot: FirstBoot): void {
  checkFirstBoot(firstBoot);
  const directory = ensureDirectoryInside(root, FIRSTBOOT_DIRECTORY, 'the first-boot file');
  writeFileNoFollow(join(directory, 'firstboot.conf'), firstBootShell(firstBoot));
  writeFileNoFollow(join(directory, 'firstboot.json'), firstBootJson(firstBoot));
}
