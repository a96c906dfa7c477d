import { allAgentDdls, type AgentEntry } from '../ddl/registry.js';
import type { ActionDdl, AgentDdl, InputItem } from '../ddl/types.js';

export const USAGE = `Usage:
  hvagent <agent> <action> [key=value ...] [--output table|json|yaml] [--progress]
                                                     call an action (--json is --output json; --progress: progress on stderr, also shown on a TTY)
  hvagent <agent> [<action>] --help                    describe an agent or action
  hvagent rpc [--stream]                               JSON request(s) on stdin, reply(ies) on stdout
  hvagent serve [--listen unix:PATH|HOST:PORT]...      the REST server (docs/REST.md); default unix:/run/hvagent/hvagent.sock
  hvagent install choria|mcollective DIR               install the plugin tree for a server
  hvagent --version

Exit codes: 0 done, 1 the action failed, 2 unknown agent, action or option, 4 invalid input,
5 configuration or internal error. Colour only on a terminal, never with NO_COLOR set.
`;

/** What a person can do next about a failure, in one line; undefined where the message says it all. */
export function nextStep(agent: AgentEntry, action: ActionDdl, code: string): string | undefined {
  const name = agent.metadata.name;
  const lister = agent.actionNames.includes('list') ? `"hvagent ${name} list"` : undefined;
  switch (code) {
    case 'INPUT_REQUIRED':
    case 'INPUT_UNDECLARED':
    case 'INPUT_INVALID':
      return `Run "hvagent ${name} ${action.action} --help" for its inputs.`;
    case 'NOT_FOUND':
      return lister ? `Run ${lister} to see what this host has.` : undefined;
    case 'CONFLICT':
      return lister ? `Run ${lister} to see what exists; a request holding the same object may still run: try again when it ends.` : undefined;
    case 'NOT_AUTHORIZED':
      return 'Check authorization in /etc/hvagent/hvagent.yaml (or HVAGENT_CONFIG), or run as a user it allows.';
    case 'HYPERVISOR_UNREACHABLE':
      return 'Is libvirtd running? Check with "virsh -c URI uri"; the URI is libvirt.uri in hvagent.yaml, or HVAGENT_URI.';
    case 'VIRSH_MISSING':
      return 'Install virsh (Debian: apt-get install libvirt-clients).';
    case 'DEADLINE_EXCEEDED':
      return `The action ran past its time limit (${agent.metadata.timeout} s): see the host's load, then try again.`;
    case 'CONFIG_INVALID':
      return 'Fix the file named above, then run the command again.';
    case 'INTERNAL':
      return 'This is a bug in hvagent: please report it with the command you ran.';
    default:
      return undefined;
  }
}

export function generalHelp(): string {
  const agents = allAgentDdls().map((ddl) => `  ${ddl.metadata.name.padEnd(10)} ${ddl.metadata.description}\n${actionList(ddl, '      ')}`);
  return `hvagent: the hypervisor host's Management API\n\n${USAGE}\nAgents:\n${agents.join('')}`;
}

export function agentHelp(ddl: AgentDdl): string {
  return `hvagent ${ddl.metadata.name}: ${ddl.metadata.description}\n\nActions:\n${actionList(ddl, '  ')}\nRun "hvagent ${ddl.metadata.name} <action> --help" for inputs and outputs.\n`;
}

export function actionHelp(agent: Pick<AgentDdl, 'metadata'>, action: ActionDdl): string {
  const lines = [`hvagent ${agent.metadata.name} ${action.action}: ${action.description}`, ''];
  const inputs = Object.entries(action.input);
  lines.push(inputs.length === 0 ? 'Inputs: none' : 'Inputs:');
  for (const [name, input] of inputs) lines.push(`  ${`${name}=${input.type.toUpperCase()}`.padEnd(28)} ${inputSummary(input)}`);
  lines.push('', 'Outputs:');
  for (const [name, output] of Object.entries(action.output)) lines.push(`  ${name.padEnd(28)} ${output.description}`);
  return `${lines.join('\n')}\n`;
}

function actionList(ddl: AgentDdl, indent: string): string {
  const width = Math.max(...ddl.actions.map((action) => action.action.length));
  return ddl.actions.map((action) => `${indent}${action.action.padEnd(width)}  ${action.description}\n`).join('');
}

function inputSummary(input: InputItem): string {
  const notes = [input.optional ? 'optional' : 'required'];
  if (input.default !== undefined) notes.push(`default ${JSON.stringify(input.default)}`);
  if (input.list) notes.push(`one of ${input.list.join(', ')}`);
  if (input.validation) notes.push(`validation ${input.validation}`);
  if (input.maxlength) notes.push(`max ${input.maxlength} chars`);
  if (input.minimum !== undefined) notes.push(`min ${input.minimum}`);
  if (input.maximum !== undefined) notes.push(`max ${input.maximum}`);
  return `${input.description} (${notes.join('; ')})`;
}
