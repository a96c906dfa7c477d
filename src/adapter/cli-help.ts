import { allAgentDdls } from '../ddl/registry.js';
import type { ActionDdl, AgentDdl, InputItem } from '../ddl/types.js';

export const USAGE = `Usage:
  hvagent <agent> <action> [key=value ...] [--json] [--progress]
                                                     call an action (--progress: progress on stderr, also shown on a TTY)
  hvagent <agent> [<action>] --help                    describe an agent or action
  hvagent rpc [--stream]                               JSON request(s) on stdin, reply(ies) on stdout
  hvagent serve [--listen unix:PATH|HOST:PORT]...      the REST server (docs/REST.md); default unix:/run/hvagent/hvagent.sock
  hvagent install choria|mcollective DIR               install the plugin tree for a server
  hvagent --version
`;

export function generalHelp(): string {
  const agents = allAgentDdls().map((ddl) => `  ${ddl.metadata.name.padEnd(10)} ${ddl.metadata.description}\n${actionList(ddl, '      ')}`);
  return `hvagent: the hypervisor host's Management API\n\n${USAGE}\nAgents:\n${agents.join('')}`;
}

export function agentHelp(ddl: AgentDdl): string {
  return `hvagent ${ddl.metadata.name}: ${ddl.metadata.description}\n\nActions:\n${actionList(ddl, '  ')}\nRun "hvagent ${ddl.metadata.name} <action> --help" for inputs and outputs.\n`;
}

export function actionHelp(agent: AgentDdl, action: ActionDdl): string {
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
