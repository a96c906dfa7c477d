// The audit file stays open between lines (the server writes one per request); an operator
// rotating it, by rename (logrotate's default), by copytruncate, or by removing it, finds
// the next line where the path now points, with no signal or restart.
import { afterAll, describe, expect, test } from '@jest/globals';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAudit, type AuditRecord } from '../../../src/dispatch/audit.js';

const root = mkdtempSync(join(tmpdir(), 'p6-server-audit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const line = (requestId: string): AuditRecord => ({
  format: 1,
  time: '2026-01-01T00:00:00.000Z',
  request_id: requestId,
  caller: 'uid=0',
  protocol: 'rest',
  agent: 'host',
  action: 'info',
  inputs: {},
  outcome: 'OK',
  statuscode: 0,
  changed: null,
  duration_ms: 0,
  targets: [],
  pid: 1,
});
const idsIn = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n').map((text) => (JSON.parse(text) as AuditRecord).request_id);

describe('audit file rotation', () => {
  const file = join(root, 'audit.log');
  const config = { enabled: true, file, syslog: false };
  const state = { failures: 0 };

  test('renamed away: the next line starts a new file at the path, the old one keeps its lines', () => {
    writeAudit(config, line('a1'), state);
    writeAudit(config, line('a2'), state);
    renameSync(file, `${file}.1`);
    writeAudit(config, line('a3'), state);
    expect(idsIn(`${file}.1`)).toEqual(['a1', 'a2']);
    expect(idsIn(file)).toEqual(['a3']);
  });

  test('copied then truncated in place: the next line is at the start of the emptied file', () => {
    writeAudit(config, line('b1'), state);
    copyFileSync(file, `${file}.2`);
    truncateSync(file, 0);
    writeAudit(config, line('b2'), state);
    expect(idsIn(`${file}.2`)).toEqual(['a3', 'b1']);
    expect(readFileSync(file, 'utf8')).not.toContain('\0');
    expect(idsIn(file)).toEqual(['b2']);
  });

  test('removed: the next line makes it again', () => {
    unlinkSync(file);
    writeAudit(config, line('c1'), state);
    expect(idsIn(file)).toEqual(['c1']);
    expect(state.failures).toBe(0);
  });
});
