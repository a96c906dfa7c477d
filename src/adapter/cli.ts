import type { RequestDispatcher } from '../dispatch/dispatcher.js';
import { agentEntry, findAgent } from '../ddl/registry.js';
import type { ActionDdl } from '../ddl/types.js';
import { HvError } from '../core/errors.js';
import { printable } from '../core/printable.js';
import { errorReply, type Reply } from '../core/reply.js';
import { MAX_REQUEST_BYTES, processCaller } from '../core/request.js';
import { VERSION } from '../version.js';
import { requestTooLarge } from './bounded-input.js';
import { formatReply, progressPrinter, type Style } from './cli-format.js';
import { exitWhenWritten, PROCESS_OUTPUT, processStream, type CliStreams } from './cli-output.js';
import { actionHelp, agentHelp, generalHelp, nextStep, USAGE } from './cli-help.js';
import { typed } from './typed-text.js';

// The command-line tool for people at the host: `hvagent <agent> <action> key=value …`,
// modelled on virsh and qm (docs/CLI.md). Values are typed by the DDL (typed-text.ts).
// Exit codes (docs/CLI.md): the reply's statuscode (0 ok, 1 the action failed, 4 invalid
// input, 5 configuration or internal error), and 2 for a command line that names no
// known agent, action or option.

const OUTPUTS = ['table', 'json', 'yaml'] as const;
type Output = (typeof OUTPUTS)[number];

interface CommandLine {
  words: string[];
  output: Output;
  help: boolean;
  version: boolean;
  progress: boolean;
  stream: boolean;
}

/** `hvagent …` from main.ts: runs the command line, then exits once its output is out. */
export async function runCommandLine(args: readonly string[], dispatcher: RequestDispatcher): Promise<void> {
  const code = await runCli(args, dispatcher);
  await dispatcher.settle();
  exitWhenWritten(code);
}

export async function runCli(args: readonly string[], dispatcher: RequestDispatcher, streams: CliStreams = PROCESS_OUTPUT): Promise<number> {
  const { print, fail } = speaker(streams);
  if (args[0] === '__complete') {
    const { complete } = await import('./cli-complete.js');
    return print(await complete(args.slice(1), dispatcher));
  }
  const parsed = parseCommandLine(args);
  if (typeof parsed === 'string') return fail(`${parsed}\n\n${USAGE}`, 2);
  const [agentName, actionName, ...pairs] = parsed.words;

  if (parsed.version) return print(`hvagent ${VERSION}\n`);
  if (!agentName || agentName === 'help') return print(generalHelp());
  if (agentName === 'rpc') {
    // stdio writes to process.stdout and stderr itself: with the command line's handling of a failed write.
    processStream(1);
    processStream(2);
    const { runStdioOnce, runStdioStream } = await import('./stdio.js');
    return parsed.stream ? runStdioStream(dispatcher) : runStdioOnce(dispatcher);
  }
  if (agentName === 'install') return runInstall(actionName, pairs[0], streams);

  // The action's own DDL, parsed alone; the whole agent's only where help lists its actions.
  const agent = agentEntry(agentName);
  const wholeAgent = () => findAgent(agentName)!;
  // A line naming no agent or action, or inputs that do not parse, is a request refused: audited too.
  const refused = (code: 'AGENT_UNKNOWN' | 'ACTION_UNKNOWN' | 'INPUT_INVALID', message: string, data: unknown = {}) =>
    dispatcher.recordRefusal('cli', errorReply(new HvError(code, message)), { agent: printable(agentName).slice(0, 64), action: printable(actionName ?? '').slice(0, 64), data, callerid: processCaller(), protocol: 'cli' });
  if (!agent) {
    await refused('AGENT_UNKNOWN', `Unknown agent '${agentName}'`);
    return fail(`unknown agent '${agentName}'\n\n${USAGE}`, 2);
  }
  if (!actionName) return parsed.help ? print(agentHelp(wholeAgent())) : fail(`missing action\n\n${agentHelp(wholeAgent())}`, 2);
  const action = agent.action(actionName);
  if (!action) {
    await refused('ACTION_UNKNOWN', `Unknown action '${actionName}' for agent '${agentName}'`);
    return fail(`unknown action '${actionName}' for agent '${agentName}'\n\n${agentHelp(wholeAgent())}`, 2);
  }
  if (parsed.help) return print(actionHelp(agent, action));

  // The same cap as every protocol's (the kernel's own argument limit can be raised past it).
  const tooLarge = pairs.reduce((bytes, pair) => bytes + Buffer.byteLength(pair) + 1, 0) > MAX_REQUEST_BYTES;
  const data = tooLarge ? {} : parsePairs(action, pairs);
  if (typeof data === 'string') await refused('INPUT_INVALID', data, inputsAsTyped(pairs));
  if (typeof data === 'string') return fail(`${data}\nRun "hvagent ${agentName} ${actionName} --help" for its inputs.`, 4);
  const showProgress = parsed.progress || streams.stderr.isTTY;
  const terminal = streams.terminal;
  const oversized = tooLarge ? errorReply(requestTooLarge(), Object.keys(action.output)) : undefined;
  if (oversized) await dispatcher.recordRefusal('cli', oversized);
  const reply =
    oversized ??
    (await dispatcher.handle(
      { agent: agentName, action: actionName, data, callerid: processCaller(), protocol: 'cli' },
      { terminal, ...(showProgress && { onRecord: progressPrinter(streams.stderr) }) },
    ));
  const auditWarning = dispatcher.auditWarning();
  if (auditWarning) streams.stderr.write(`${auditWarning}\n`);
  if (parsed.output !== 'table') {
    streams.stdout.write(await serialised(reply, parsed.output));
    return reply.statuscode;
  }
  if (reply.statuscode !== 0) {
    const code = String(reply.data.error_code);
    const hint = nextStep(agent, action, code);
    return fail(`${agentName} ${actionName} failed [${code}]: ${reply.statusmsg}${hint ? `\n${hint}` : ''}`, reply.statuscode);
  }
  return print(formatReply(action, reply, styleFor(streams.stdout)));
}

/** Options may stand anywhere; `--output FORMAT`, `--output=FORMAT` and `-o FORMAT` are one. */
function parseCommandLine(args: readonly string[]): CommandLine | string {
  const line: CommandLine = { words: [], output: 'table', help: false, version: false, progress: false, stream: false };
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) {
      line.words.push(arg);
      continue;
    }
    const [option, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    switch (option) {
      case '--json':
        line.output = 'json';
        break;
      case '--output':
      case '-o': {
        const value = inline ?? args[++i];
        if (!OUTPUTS.includes(value as Output)) return `${option} takes ${OUTPUTS.join(', ')}${value === undefined ? '' : `, not '${value}'`}`;
        line.output = value as Output;
        break;
      }
      case '--help':
      case '-h':
        line.help = true;
        break;
      case '--version':
        line.version = true;
        break;
      case '--progress':
        line.progress = true;
        break;
      case '--stream':
        line.stream = true;
        break;
      default:
        return `unknown option ${arg}`;
    }
  }
  return line;
}

/** key=value pairs as given, for the audit line of a refused line (a secret key's value is redacted there). */
function inputsAsTyped(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((pair) => (pair.indexOf('=') < 1 ? [pair.slice(0, 64), '[unparsed]'] : [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])));
}

function parsePairs(action: ActionDdl, pairs: readonly string[]): Record<string, unknown> | string {
  const data: Record<string, unknown> = {};
  for (const pair of pairs) {
    const separator = pair.indexOf('=');
    if (separator < 1) return `expected key=value, got '${pair}'`;
    const key = pair.slice(0, separator);
    data[key] = typed(action.input[key]?.type, pair.slice(separator + 1));
  }
  return data;
}

/** The whole reply, as `--json` has always printed it; YAML for people who read it. */
async function serialised(reply: Reply, output: 'json' | 'yaml'): Promise<string> {
  if (output === 'json') return `${JSON.stringify(reply, null, 2)}\n`;
  const { stringify } = await import('yaml');
  return stringify(reply);
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM is dumb. */
export function styleFor(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): Style {
  return { colour: stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb' };
}

async function runInstall(target: string | undefined, directory: string | undefined, streams: CliStreams): Promise<number> {
  const { print, fail } = speaker(streams);
  if ((target !== 'choria' && target !== 'mcollective') || !directory) {
    return fail(`usage: hvagent install choria|mcollective DIR\n`, 2);
  }
  const { install } = await import('./install.js');
  const written = await install(target, directory);
  return print(`Installed hvagent for ${target}:\n${written.map((path) => `  ${path}`).join('\n')}\n`);
}

/** `print` (stdout, exit code 0) and `fail` (stderr, the code given), on the given streams. */
function speaker(streams: CliStreams): { print(text: string): number; fail(message: string, code: number): number } {
  return {
    print(text) {
      streams.stdout.write(text);
      return 0;
    },
    fail(message, code) {
      const prefix = styleFor(streams.stderr).colour ? '\x1b[1;31mhvagent:\x1b[0m' : 'hvagent:';
      streams.stderr.write(`${prefix} ${message.trimEnd()}\n`);
      return code;
    },
  };
}
