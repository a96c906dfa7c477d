import type { Reply } from '../core/reply.js';
import type { JobRecord } from '../dispatch/job-records.js';
import type { ActionDdl } from '../ddl/types.js';

// Human output for `hvagent <agent> <action>`: each declared output under its display_as
// label, nested values indented, in the DDL's order.

export function formatReply(action: ActionDdl, reply: Reply): string {
  const entries = Object.entries(action.output).map(([name, output]) => [output.display_as, reply.data[name]] as const);
  const width = Math.max(0, ...entries.map(([label]) => label.length));
  const lines: string[] = [];
  for (const [label, value] of entries) {
    const rendered = render(value, width + 3);
    lines.push(`${label.padStart(width)}:${rendered.startsWith("\n") ? "" : " "}${rendered}`);
  }
  return `${lines.join('\n')}\n`;
}

function render(value: unknown, indent: number): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item !== 'object' || item === null)) return value.join(', ') || '-';
    return value.map((item) => `\n${' '.repeat(indent)}- ${inline(item)}`).join('');
  }
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `\n${' '.repeat(indent)}${key}: ${typeof item === 'object' && item !== null ? inline(item) : String(item)}`)
      .join('');
  }
  return String(value);
}

function inline(value: unknown): string {
  if (Array.isArray(value)) return compactList(value);
  if (typeof value !== 'object' || value === null) return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([key, item]) => `${key}=${Array.isArray(item) ? compactList(item) : typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item)}`)
    .join(' ');
}

/** CPU lists read better as ranges: 0-15 rather than sixteen numbers. */
function compactList(items: unknown[]): string {
  if (items.length > 2 && items.every((item) => Number.isInteger(item))) {
    const numbers = items as number[];
    const ranges: string[] = [];
    let start = numbers[0]!;
    let previous = start;
    for (const current of [...numbers.slice(1), Number.NaN]) {
      if (current === previous + 1) {
        previous = current;
        continue;
      }
      ranges.push(start === previous ? `${start}` : `${start}-${previous}`);
      start = previous = current;
    }
    return ranges.join(',');
  }
  return items.map((item) => (typeof item === 'object' ? JSON.stringify(item) : String(item))).join(',');
}

/** Shows a long action's job record on stderr: one updating line on a terminal, one line per update otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream): (record: Readonly<JobRecord>) => void {
  return (record) => {
    const percent = record.percent === null ? '' : ` ${record.percent}%`;
    const message = record.message ? ` ${record.message}` : '';
    const outcome = record.state === 'running' ? '' : ` (${record.state}${record.error_code ? `: ${record.error_code}` : ''})`;
    const line = `hvagent: ${record.agent} ${record.action}${record.target ? ` ${record.target}` : ''}: ${record.phase}${percent}${message}${outcome}`;
    if (!stream.isTTY) stream.write(`${line}\n`);
    else stream.write(`\r\x1b[K${line.slice(0, Math.max(20, (stream.columns || 80) - 1))}${record.state === 'running' ? '' : '\n'}`);
  };
}
