// A directory made with its missing parents, and its undo: the same directories removed
// again while they are empty, and nothing else.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstMissing, makeDirectories, removeMadeDirectories } from '../../../src/files/made-directories.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'made-directories-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('the outermost directory a mkdir -p makes is the first one missing; none for a directory that exists', () => {
  expect(firstMissing(join(root, 'a', 'b', 'c'))).toBe(join(root, 'a'));
  mkdirSync(join(root, 'a'));
  expect(firstMissing(join(root, 'a', 'b', 'c'))).toBe(join(root, 'a', 'b'));
  expect(firstMissing(root)).toBeUndefined();
});

test('the undo removes every directory made, up to the outermost, and leaves the one above', () => {
  const path = join(root, 'a', 'b', 'c');
  makeDirectories(path);
  expect(removeMadeDirectories(path, join(root, 'a'))).toBe(true);
  expect(existsSync(join(root, 'a'))).toBe(false);
  expect(existsSync(root)).toBe(true);
});

test('a directory something was put into stays, with its parents', () => {
  const path = join(root, 'a', 'b', 'c');
  makeDirectories(path);
  writeFileSync(join(root, 'a', 'b', 'volume.qcow2'), '');
  expect(removeMadeDirectories(path, join(root, 'a'))).toBe(false);
  expect(existsSync(path)).toBe(false);
  expect(existsSync(join(root, 'a', 'b', 'volume.qcow2'))).toBe(true);
});

test('an undo whose directories were never made is harmless', () => {
  expect(removeMadeDirectories(join(root, 'a', 'b'), join(root, 'a'))).toBe(true);
  expect(existsSync(root)).toBe(true);
});

test('a record whose outermost is not above the path removes nothing', () => {
  const path = join(root, 'a', 'b');
  makeDirectories(path);
  mkdirSync(join(root, 'elsewhere'));
  expect(removeMadeDirectories(path, join(root, 'elsewhere'))).toBe(false);
  expect(removeMadeDirectories(path, join(root, 'a', 'b', 'c'))).toBe(false);
  expect(existsSync(path)).toBe(true);
  expect(existsSync(join(root, 'elsewhere'))).toBe(true);
});
