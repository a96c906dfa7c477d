// Proves that any string (but NUL) crosses virsh's own command-string parser as ONE
// literal argument, using the real virsh and the daemon-less test driver.
import { describe, expect, it } from '@jest/globals';
import { formatVirshCommand, quoteVirshArgument, VirshArgumentError } from '../../src/libvirt/virsh-quote.js';
import { runVirsh, runVirshBatch, stdoutOrThrow } from '../../src/libvirt/virsh.js';
import { VirshError } from '../../src/libvirt/virsh-error.js';

const uri = 'test:///default';

const HOSTILE = [
  '; rm -rf /',
  'a; destroy test',
  '$(touch /tmp/hvagent-pwned)',
  '`id`',
  "it's",
  "''",
  '"double" and \'single\'',
  'back\\slash\\',
  '\\',
  'trailing backslash-newline \\\n',
  'line one\nline two',
  '\n',
  '# looks like a comment',
  '#',
  'tab\there',
  '   leading and trailing blanks   ',
  '',
  '--',
  '--xml',
  '-h',
  '\r\n',
  'ünïcødé ✓ 𝕏',
  'a'.repeat(4096),
];

/** virsh `echo --shell` output for a single argument that needs quoting. */
function shellQuoted(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

describe('quoteVirshArgument', () => {
  it('wraps in single quotes and escapes embedded single quotes shell-style', () => {
    expect(quoteVirshArgument('plain')).toBe("'plain'");
    expect(quoteVirshArgument("it's")).toBe("'it'\\''s'");
    expect(quoteVirshArgument('')).toBe("''");
  });

  it('refuses NUL, which no C argument can carry', () => {
    expect(() => quoteVirshArgument('a\0b')).toThrow(VirshArgumentError);
    expect(() => formatVirshCommand(['echo', 'x\0'])).toThrow(/NUL/);
  });

  it('refuses an empty command and command names that are not plain words', () => {
    expect(() => formatVirshCommand([])).toThrow(VirshArgumentError);
    expect(() => formatVirshCommand(['-c', 'qemu:///system', 'destroy'])).toThrow(/not a virsh command name/);
    expect(() => formatVirshCommand(['uri; destroy x'])).toThrow(/not a virsh command name/);
  });
});

describe('hostile arguments through the real virsh parser', () => {
  it('every string arrives as exactly one literal argument (batch)', async () => {
    const results = await runVirshBatch(
      HOSTILE.flatMap((arg) => [
        ['echo', '--', arg],
        ['echo', '--shell', '--', arg],
      ]),
      { uri },
    );
    HOSTILE.forEach((arg, i) => {
      const plain = stdoutOrThrow(results[2 * i]!);
      const shell = stdoutOrThrow(results[2 * i + 1]!);
      expect(plain).toBe(`${arg}\n`);
      // One quoted word: had the string split into several arguments, --shell would
      // have printed several space-separated words instead. Plain words print bare.
      if (/^[A-Za-z0-9_.+\-\/]+$/.test(arg)) expect(shell).toBe(`${arg}\n`);
      else expect(shell).toBe(`${shellQuoted(arg)}\n`);
    });
  });

  it('a hostile argument cannot start a second command', async () => {
    // If ';' escaped its quotes, "destroy test" would run and the preloaded domain would
    // be shut off when `domstate` asks within the same connection.
    const [echo, state] = await runVirshBatch([['echo', '--', 'x; destroy test'], ['domstate', 'test']], { uri });
    expect(stdoutOrThrow(echo!)).toBe('x; destroy test\n');
    expect(stdoutOrThrow(state!).trim()).toBe('running');
  });

  it('a command name cannot smuggle a second command or a global virsh option', async () => {
    // virsh parses a lone trailing argument as a command string; in argv form a leading
    // '-' would be a global option such as a second -c.
    for (const command of [['uri; echo pwned'], ['-c', 'test:///default', 'uri'], ['-h']]) {
      const error = await runVirsh(command, { uri }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VirshError);
      expect((error as VirshError).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('quotes a lone command word for virsh\'s string parser', async () => {
    expect((await runVirsh(['uri'], { uri })).trim()).toBe(uri);
  });

  it('refuses NUL before starting virsh', async () => {
    const error = await runVirsh(['echo', 'a\0b'], { uri }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VirshError);
    expect((error as VirshError).code).toBe('INVALID_ARGUMENT');
    const batchError = await runVirshBatch([['echo', 'a\0b']], { uri }).catch((e: unknown) => e);
    expect((batchError as VirshError).code).toBe('INVALID_ARGUMENT');
  });
});
