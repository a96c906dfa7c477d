import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printableLine, tailLines } from '../../../src/vm/console-log.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 't-tail-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const numbered = (count: number, width = 0) => Array.from({ length: count }, (_, i) => `line ${i + 1} ${'x'.repeat(width)}`.trimEnd());

describe('the end of a console log', () => {
  test('the last lines of a long log, read from its end across many chunks', async () => {
    const lines = numbered(20_000, 40); // about 1 MB: more than the bound, so only the end is read
    const tail = await tailLines(file('long.log', `${lines.join('\n')}\n`), 25);
    expect(tail).toEqual({ lines: lines.slice(-25), earlier: true });
  });

  test('a log shorter than asked for: all of it, nothing earlier', async () => {
    expect(await tailLines(file('short.log', 'one\ntwo\nthree\n'), 100)).toEqual({ lines: ['one', 'two', 'three'], earlier: false });
  });

  test('exactly as many lines as asked for: nothing earlier', async () => {
    expect(await tailLines(file('exact.log', 'one\ntwo\nthree\n'), 3)).toEqual({ lines: ['one', 'two', 'three'], earlier: false });
  });

  test('a last line still being written (no newline yet) is a line', async () => {
    expect(await tailLines(file('partial.log', 'one\ntwo\nlogin: '), 2)).toEqual({ lines: ['two', 'login: '], earlier: true });
  });

  test('lines that straddle a chunk boundary come out whole', async () => {
    const lines = numbered(3000, 100); // each about 110 bytes: boundaries fall mid-line
    const tail = await tailLines(file('straddle.log', `${lines.join('\n')}\n`), 1500);
    expect(tail.lines).toEqual(lines.slice(-1500));
  });

  test('the bound on bytes wins over the lines asked for; the first, partial line is dropped', async () => {
    const lines = numbered(100, 10_000); // 1 MB in 100 lines
    const tail = await tailLines(file('wide.log', `${lines.join('\n')}\n`), 100, 64 * 1024);
    expect(tail.earlier).toBe(true);
    expect(tail.lines.length).toBeGreaterThan(0);
    expect(tail.lines.length).toBeLessThan(100);
    expect(tail.lines).toEqual(lines.slice(-tail.lines.length));
  });

  test('a log that does not exist yet is empty', async () => {
    expect(await tailLines(join(dir, 'never-started.log'), 10)).toEqual({ lines: [], earlier: false });
  });

  test('a symlink at the log path is not followed', async () => {
    const secret = file('secret', 'root:x:0:0\n');
    symlinkSync(secret, join(dir, 'link.log'));
    await expect(tailLines(join(dir, 'link.log'), 10)).rejects.toMatchObject({ code: 'HYPERVISOR_ERROR' });
  });

  test('invalid UTF-8 from the guest does not break the reply', async () => {
    const tail = await tailLines(file('binary.log', Buffer.from([0x6f, 0x6b, 0x0a, 0xff, 0xfe, 0x41, 0x0a])), 10);
    expect(tail.lines).toEqual(['ok', '\ufffd\ufffdA']);
  });
});

describe('a console line as text', () => {
  test.each([
    ['[  OK  ] Started ssh.service', '\u001b[0;32m  OK  \u001b[0m] Started ssh.service'.replace(/^/, '[')],
    ['Debian GNU/Linux 12 web01 ttyS0', 'Debian GNU/Linux 12 web01 ttyS0\r'],
    ['title', '\u001b]0;title\u0007title'],
    ['ab', 'a\u0000\u0007b'],
    ['tab\tkept', 'tab\tkept'],
    ['cursor', '\u001b[2J\u001b[Hcursor'],
  ])('%j', (expected, raw) => {
    expect(printableLine(raw)).toBe(expected);
  });
});
