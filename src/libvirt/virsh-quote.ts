/**
 * Escaping for virsh's OWN command-string parser (vshCommandStringGetArg in libvirt's
 * tools/vsh.c), used when several commands travel in one virsh argument.
 *
 * That parser splits on blanks, ';' and newline, treats a token starting with '#' as a
 * comment, and honours '...' (fully literal, newlines included), "..." and backslash
 * like a POSIX shell. Wrapping every token in single quotes, with each embedded quote
 * written as '\'' , is therefore exact for any string without NUL.
 *
 * Quoting does NOT stop option parsing: a quoted '--foo' is still an option to virsh.
 * Put `--` before positional data that may start with '-'.
 */

export class VirshArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VirshArgumentError';
  }
}

/** Throws VirshArgumentError for values no virsh argument can carry. */
export function assertPassableArgument(arg: string): void {
  if (typeof arg !== 'string') {
    throw new VirshArgumentError(`virsh argument must be a string, got ${typeof arg}`);
  }
  // A C string ends at NUL: the rest would be silently dropped.
  if (arg.includes('\0')) {
    throw new VirshArgumentError(`virsh argument contains a NUL byte: ${JSON.stringify(arg)}`);
  }
}

export function quoteVirshArgument(arg: string): string {
  assertPassableArgument(arg);
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * A command name must be a plain virsh command word. In argv form a leading '-' would
 * otherwise be read as a global virsh option, e.g. a second `-c URI`.
 */
export function assertCommandName(argv: readonly string[]): void {
  if (argv.length === 0) throw new VirshArgumentError('empty virsh command');
  if (!/^[a-z][a-z0-9-]*$/.test(argv[0]!)) {
    throw new VirshArgumentError(`not a virsh command name: ${JSON.stringify(argv[0])}`);
  }
}

/** One command (name and arguments) as a single token sequence for virsh's parser. */
export function formatVirshCommand(argv: readonly string[]): string {
  assertCommandName(argv);
  return argv.map(quoteVirshArgument).join(' ');
}
