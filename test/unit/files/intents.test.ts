// The intent journal's view of which entries are dead: the owner's pid gone, or reused by
// another process (the start time differs), or the entry given up by a live owner.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadIntents, Intent, intentDirectory } from '../../../src/files/intents.js';
import { processStart } from '../../../src/process/identity.js';

let locks: string;
beforeEach(() => {
  locks = mkdtempSync(join(tmpdir(), 'crash-safety-intents-'));
});
afterEach(() => rmSync(locks, { recursive: true, force: true }));

const entry = (keys: string[]) => JSON.stringify({ keys, undos: [{ kind: 'file', path: '/nonexistent' }], what: 'test', started_at: new Date().toISOString() });
const names = () => readdirSync(intentDirectory(locks)).sort();

test('a live request’s entry is not dead; it is written with its first undo and gone when the request ends', () => {
  const intent = Intent.begin(locks, ['vm-a'], 'vm create a');
  intent.record({ kind: 'file', path: '/x' });
  expect(names()).toHaveLength(1);
  expect(deadIntents(locks)).toEqual([]);
  intent.end();
  expect(names()).toEqual([]);
});

test('an entry whose process has ended is dead, and found by the lock keys it names', () => {
  const ended = spawnSync('true').pid!;
  Intent.begin(locks, [], ''); // makes the directory
  writeFileSync(join(intentDirectory(locks), `${ended}.1.0badc0de.json`), entry(['vm-a', 'volume-p.v']));
  expect(deadIntents(locks).map((dead) => dead.name)).toEqual([`${ended}.1.0badc0de.json`]);
  expect(deadIntents(locks, 'volume-p.v')).toHaveLength(1);
  expect(deadIntents(locks, 'vm-b')).toEqual([]);
});

test('a journal seen empty is asked again by its mtime: an entry added later is found', () => {
  const directory = intentDirectory(locks);
  mkdirSync(directory);
  // Last changed long ago: its emptiness may be remembered (the server asks on every request).
  const past = new Date(Date.now() - 60_000);
  utimesSync(directory, past, past);
  expect(deadIntents(locks)).toEqual([]);
  expect(deadIntents(locks)).toEqual([]);
  const ended = spawnSync('true').pid!;
  writeFileSync(join(directory, `${ended}.1.0badc0de.json`), entry(['vm-a']));
  expect(deadIntents(locks).map((dead) => dead.name)).toEqual([`${ended}.1.0badc0de.json`]);
});

test('an entry naming a running pid with another start time (the pid was reused) is dead', () => {
  const directory = intentDirectory(locks);
  Intent.begin(locks, [], '');
  const start = processStart(process.pid)!;
  writeFileSync(join(directory, `${process.pid}.${start + 1}.0badc0de.json`), entry(['vm-a']));
  writeFileSync(join(directory, `${process.pid}.${start}.1badc0de.json`), entry(['vm-a']));
  expect(deadIntents(locks).map((dead) => dead.name)).toEqual([`${process.pid}.${start + 1}.0badc0de.json`]);
});

test('an entry its live owner gave up (a rollback that could not finish) is dead; one with nothing left goes', () => {
  const kept = Intent.begin(locks, ['vm-a'], 'vm create a');
  kept.record({ kind: 'domain', uri: 'qemu:///system', name: 'a' });
  kept.abandon([{ kind: 'domain', uri: 'qemu:///system', name: 'a' }]);
  expect(deadIntents(locks).map((dead) => dead.entry.abandoned)).toEqual([true]);
  const done = Intent.begin(locks, ['vm-b'], 'vm create b');
  done.record({ kind: 'file', path: '/y' });
  done.abandon([]);
  expect(names()).toHaveLength(1);
});
