import type { Dispatcher } from '../dispatch/dispatcher.js';
import { errorReply } from '../core/reply.js';
import { MAX_REQUEST_BYTES } from '../core/request.js';
import { findAction, findAgent } from '../ddl/registry.js';
import type { ActionDdl } from '../ddl/types.js';
import { VERSION } from '../version.js';
import { formatReply, progressPrinter } from './cli-format.js';
import { requestTooLarge } from './bounded-input.js';
import { actionHelp, agentHelp, generalHelp, USAGE } from './cli-help.js';

// The command-line tool for people at the host: `hvagent <agent> <action> key=value …`.
// Values are typed by the DDL, as `mco rpc` does; anything that does not parse is
// passed on as text, so the validator (not the CLI) says what is wrong with it.

export async function runCli(args: readonly string[], dispatcher: Dispatcher): Promise<number> {
  const flags = new Set(args.filter((arg) => arg.startsWith('--')));
  const words = args.filter((arg) => !arg.startsWith('--'));
  const [agentName, actionName, ...pairs] = words;

  if (flags.has('--version')) return print(`hvagent ${VERSION}\n`);
  if (!agentName || agentName === 'help') return print(generalHelp());
  if (agentName === 'rpc') {
    const { runStdioOnce, runStdioStream } = await import('./stdio.js');
    return flags.has('--stream') ? runStdioStream(dispatcher) : runStdioOnce(dispatcher);
  }
  if (agentName === 'install') return runInstall(actionName, pairs[0]);

  const agent = findAgent(agentName);
  if (!agent) return fail(`unknown agent '${agentName}'\n\n${USAGE}`, 2);
  if (!actionName) return flags.has('--help') ? print(agentHelp(agent)) : fail(`missing action\n\n${agentHelp(agent)}`, 2);
  const action = findAction(agent, actionName);
  if (!action) return fail(`unknown action '${actionName}' for agent '${agentName}'\n\n${agentHelp(agent)}`, 2);
  if (flags.has('--help')) return print(actionHelp(agent, action));
  const unknownFlag = [...flags].find((flag) => flag !== '--json' && flag !== '--progress');
  if (unknownFlag) return fail(`unknown option ${unknownFlag}\n\n${USAGE}`, 2);

  // The same cap as every protocol's (the kernel's own argument limit can be raised past it).
  const tooLarge = pairs.reduce((bytes, pair) => bytes + Buffer.byteLength(pair) + 1, 0) > MAX_REQUEST_BYTES;
  const data = tooLarge ? {} : parsePairs(action, pairs);
  if (typeof data === 'string') return fail(data, 4);
  const showProgress = flags.has('--progress') || process.stderr.isTTY;
  const reply = tooLarge
    ? errorReply(requestTooLarge(), Object.keys(action.output))
    : await dispatcher.handle(
        { agent: agentName, action: actionName, data, callerid: `uid=${process.getuid?.() ?? 'unknown'}`, protocol: 'cli' },
        showProgress ? { onRecord: progressPrinter(process.stderr) } : {},
      );
  if (flags.has('--json')) {
    process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
    return reply.statuscode;
  }
  if (reply.statuscode !== 0) return fail(`${agentName} ${actionName} failed [${reply.data.error_code}]: ${reply.statusmsg}`, reply.statuscode);
  return print(formatReply(action, reply));
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

function typed(type: string | undefined, text: string): unknown {
  switch (type) {
    case 'boolean':
      if (/^(true|t|yes|y|1)$/i.test(text)) return true;
      if (/^(false|f|no|n|0)$/i.test(text)) return false;
      return text;
    case 'integer':
      return /^-?\d{1,15}$/.test(text) ? Number(text) : text;
    case 'float':
    case 'number':
      return /^-?\d{1,15}(\.\d+)?$/.test(text) ? Number(text) : text;
    default:
      return text;
  }
}

async function runInstall(target: string | undefined, directory: string | undefined): Promise<number> {
  if ((target !== 'choria' && target !== 'mcollective') || !directory) {
    return fail(`usage: hvagent install choria|mcollective DIR\n`, 2);
  }
  const { install } = await import('./install.js');
  const written = await install(target, directory);
  return print(`Installed hvagent for ${target}:\n${written.map((path) => `  ${path}`).join('\n')}\n`);
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

function fail(message: string, code: number): number {
  process.stderr.write(`hvagent: ${message.trimEnd()}\n`);
  return code;
}
