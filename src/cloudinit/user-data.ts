import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { HvError } from '../core/errors.js';
import type { HostKey } from './host-keys.js';

// user-data: a `#cloud-config` document from the caller, checked as YAML, with the keys of
// ssh_authorized_keys added to its own list. Nothing of the document ever appears in a
// message: it may hold passwords or keys. A YAML error is told by its line, column and kind.

const INPUT = 'user_data';
const HEADER = '#cloud-config';

/** What the YAML parser's error codes mean, said without quoting the document. */
const YAML_PROBLEMS: Readonly<Record<string, string>> = {
  BAD_INDENT: 'bad indentation',
  TAB_AS_INDENT: 'a tab used for indentation',
  DUPLICATE_KEY: 'a key given twice',
  MULTIPLE_DOCS: 'more than one document',
  UNEXPECTED_TOKEN: 'an unexpected character',
  MISSING_CHAR: 'an unclosed bracket or quote',
  BLOCK_IN_FLOW: 'a block inside a flow collection',
  BLOCK_AS_IMPLICIT_KEY: 'a block used as a key',
  MULTILINE_IMPLICIT_KEY: 'a key spanning several lines',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
  BAD_DQ_ESCAPE: 'a bad escape in a double-quoted string',
  BAD_SCALAR_START: 'a plain value starting with a reserved character',
  BAD_ALIAS: 'an alias to an anchor that does not exist',
  BAD_DIRECTIVE: 'a bad directive',
  TAG_RESOLVE_FAILED: 'an unknown tag',
  BAD_COLLECTION_TYPE: 'a collection of the wrong kind for its tag',
  MULTIPLE_ANCHORS: 'a node with two anchors',
  MULTIPLE_TAGS: 'a node with two tags',
  BAD_PROP_ORDER: 'an anchor or tag in the wrong place',
  ALIAS_PROPS: 'an alias with an anchor or tag',
};

function refuse(message: string): never {
  throw new HvError('INPUT_INVALID', `Input '${INPUT}' ${message}`, { input: INPUT });
}

export interface CheckedUserData {
  /** The caller's text, unchanged. */
  readonly text: string;
  /** Its `hostname` key, when it has one. */
  readonly hostname: string | undefined;
  /** It says itself what the guest's SSH host keys are (`ssh_keys`) or which it makes (`ssh_genkeytypes`). */
  readonly setsHostKeys: boolean;
}

/** cloud-config keys by which a document decides the guest's SSH host keys itself (cloud-init's cc_ssh). */
export const HOST_KEY_SETTINGS = ['ssh_keys', 'ssh_genkeytypes'] as const;

/** Refuses anything but a well-formed `#cloud-config` YAML mapping. */
export function checkUserData(text: string): CheckedUserData {
  if (text.split('\n', 1)[0]!.trimEnd() !== HEADER) {
    refuse(`must be a cloud-config document: its first line is exactly '${HEADER}'`);
  }
  const document = parse(text);
  const contents = document.contents;
  if (contents !== null && !isMap(contents)) refuse('must be a mapping of cloud-config keys (key: value lines)');
  const hostname = document.get('hostname', true);
  return {
    text,
    hostname: isScalar(hostname) && typeof hostname.value === 'string' ? hostname.value : undefined,
    setsHostKeys: HOST_KEY_SETTINGS.some((key) => document.has(key)),
  };
}

function parse(text: string): Document {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const error = document.errors[0];
  if (error) {
    const { line, col } = lines.linePos(error.pos[0]);
    refuse(`is not valid YAML: line ${line}, column ${col}: ${YAML_PROBLEMS[error.code] ?? 'invalid YAML'}`);
  }
  return document;
}

/**
 * The user-data file: the caller's document with `keys` added to its ssh_authorized_keys
 * (the caller's text unchanged when there are none), or a document of just the keys.
 */
export function composeUserData(userData: CheckedUserData | undefined, keys: readonly string[]): string {
  if (!userData) return keys.length === 0 ? `${HEADER}\n` : `${HEADER}\n${new Document({ ssh_authorized_keys: keys }).toString()}`;
  if (keys.length === 0) return userData.text;
  const document = parse(userData.text);
  const listed = document.get('ssh_authorized_keys', true);
  if (listed === undefined) {
    setTopKey(document, 'ssh_authorized_keys', [...keys]);
  } else if (isSeq(listed)) {
    const present = new Set(listed.items.map((item) => (isScalar(item) ? String(item.value).trim() : '')));
    for (const key of keys) if (!present.has(key)) listed.add(document.createNode(key));
  } else {
    refuse("has an ssh_authorized_keys that is not a list: make it a list, and the keys of input 'ssh_authorized_keys' are added to it");
  }
  return cloudConfigText(document);
}

/**
 * The user-data file with the host keys in cc_ssh's `ssh_keys` (TYPE_private, TYPE_public):
 * cloud-init writes them to /etc/ssh and generates none. The document must not have its own
 * (planning leaves the keys out then).
 */
export function addHostKeys(userData: string, keys: readonly HostKey[]): string {
  if (keys.length === 0) return userData;
  const document = parse(userData);
  const sshKeys = Object.fromEntries(keys.flatMap((key) => [[`${key.type}_private`, key.privateKey()], [`${key.type}_public`, key.publicKey]]));
  setTopKey(document, 'ssh_keys', sshKeys);
  return cloudConfigText(document, { lineWidth: 0 });
}

/** Sets a top-level key of the document (an empty document becomes a mapping of it). */
function setTopKey(document: Document, key: string, value: unknown): void {
  if (document.contents === null) document.contents = document.createNode({ [key]: value });
  else document.set(key, document.createNode(value));
}

/** The document's text, starting with the #cloud-config line cloud-init needs. */
function cloudConfigText(document: Document, options?: Parameters<Document['toString']>[0]): string {
  const composed = document.toString(options);
  return composed.startsWith(HEADER) ? composed : `${HEADER}\n${composed}`;
}
