import type { ActionHandler } from '../contract.js';
import { attachVmConsole } from '../../vm/console.js';
import { consoleLogTail } from '../../vm/console-log.js';
import { vmName } from './common.js';

export const consoleAttach: ActionHandler = Object.assign(
  async (context: Parameters<ActionHandler>[0]) => {
    const session = await attachVmConsole(context.config, vmName(context), { protocol: context.request.protocol, terminal: context.terminal }, context.signal);
    return { name: vmName(context), duration_ms: session.durationMs };
  },
  { interactive: true },
);

export const consoleLog: ActionHandler = async (context) => {
  const tail = await consoleLogTail(context.config, vmName(context), Number(context.inputs.lines), context.signal);
  return { name: vmName(context), log: tail.lines.join('\n'), line_count: tail.lines.length, earlier: tail.earlier, console_log: tail.path };
};
