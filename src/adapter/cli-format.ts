import type { Reply } from '../core/reply.js';
import type { JobRecord } from '../dispatch/job-records.js';
import type { ActionDdl, TableHint } from '../ddl/types.js';
import type { TextOutput } from './cli-output.js';

// Human output for `hvagent <agent> <action>`, modelled on virsh and qm: a list action
// prints an aligned table with a header (the DDL's `table` hint says which output holds the
// rows and which fields are columns); any other action prints its scalar outputs as
// "Label: value" lines under their display_as labels, then one section per nested output
// (a hash as indented "key: value" lines, a list of entries as a small table).

export interface Style {
  /** ANSI colour: only on a terminal, never with NO_COLOR (decided by the caller). */
  colour: boolean;
}

const PLAIN: Style = { colour: false };

export function formatReply(action: ActionDdl, reply: Reply, style: Style = PLAIN): string {
  if (action.table) return formatTable(action.table, reply.data[action.table.rows], style);
  return formatSections(action, reply, style);
}

type Row = Record<string, unknown>;

/**
 * One row per entry, the hint's columns in its order. A column no entry has a value for is
 * left out (vm list's IPV4 without details), numbers are right-aligned, and an empty list
 * prints the header alone, as `virsh list` does.
 */
export function formatTable(hint: TableHint, value: unknown, style: Style = PLAIN): string {
  const rows = (Array.isArray(value) ? value : []).filter((row): row is Row => typeof row === 'object' && row !== null);
  const fields = Object.keys(hint.columns).filter((field) => rows.length === 0 || rows.some((row) => row[field] !== undefined && row[field] !== null));
  return renderTable(
    fields.map((field) => hint.columns[field]!),
    rows.map((row) => fields.map((field) => row[field])),
    style,
    fields.map((field) => field === 'state'),
  );
}

function renderTable(headers: readonly string[], rows: readonly unknown[][], style: Style, coloured: readonly boolean[] = [], indent = ''): string {
  const cells = rows.map((row) => row.map(cell));
  const numeric = headers.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === 'number' || row[column] === null || row[column] === undefined));
  const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((row) => row[column]!.length)));
  const line = (values: readonly string[], paint: (text: string, column: number) => string) =>
    `${indent}${values
      .map((text, column) => {
        const last = column === values.length - 1;
        const padded = numeric[column] ? text.padStart(widths[column]!) : last ? text : text.padEnd(widths[column]!);
        return paint(padded, column);
      })
      .join('  ')}`.trimEnd();
  const lines = [line(headers, (text) => bold(text, style))];
  for (const row of cells) lines.push(line(row, (text, column) => (coloured[column] ? stateColour(text, style) : text)));
  return `${lines.join('\n')}\n`;
}

function formatSections(action: ActionDdl, reply: Reply, style: Style): string {
  const entries = Object.entries(action.output).map(([name, output]) => ({ label: output.display_as, value: reply.data[name] }));
  const scalars = entries.filter(({ value }) => !isSection(value));
  const width = Math.max(0, ...scalars.map(({ label }) => label.length + 1));
  const blocks: string[] = [];
  if (scalars.length > 0) blocks.push(scalars.map(({ label, value }) => `${`${label}:`.padEnd(width)}  ${cell(value)}`.trimEnd()).join('\n') + '\n');
  for (const { label, value } of entries.filter(({ value }) => isSection(value))) blocks.push(`${bold(`${label}:`, style)}\n${section(value, style)}`);
  return blocks.join('\n');
}

/** A hash, or a list of entries: shown under its own heading rather than on one line. */
function isSection(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0 && value.some((item) => typeof item === 'object' && item !== null);
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}

function section(value: unknown, style: Style): string {
  if (Array.isArray(value)) {
    const rows = value.map((item): Row => (typeof item === 'object' && item !== null ? (item as Row) : { value: item }));
    const fields = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    return renderTable(
      fields.map((field) => field.toUpperCase()),
      rows.map((row) => fields.map((field) => row[field])),
      style,
      fields.map((field) => field === 'state'),
      '  ',
    );
  }
  const pairs = Object.entries(value as Row);
  const width = Math.max(...pairs.map(([key]) => key.length + 1));
  return `${pairs.map(([key, item]) => `  ${`${key}:`.padEnd(width)}  ${cell(item)}`.trimEnd()).join('\n')}\n`;
}

/** One value on one line: null is "-", booleans yes/no, lists comma-separated, entries key=value. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.length === 0 ? '-' : compactList(value);
  if (typeof value === 'object') {
    if (Object.keys(value).length === 0) return '-';
    return Object.entries(value as Row)
      .map(([key, item]) => `${key}=${Array.isArray(item) ? compactList(item) : typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item)}`)
      .join(' ');
  }
  return String(value);
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
  return items.map((item) => (typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item))).join(',');
}

const paint = (code: string, text: string, style: Style) => (style.colour ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = (text: string, style: Style) => paint('1', text, style);
const STATE_COLOURS: Record<string, string> = { running: '32', paused: '33', shutoff: '2', other: '31' };

function stateColour(text: string, style: Style): string {
  const code = STATE_COLOURS[text.trim()];
  return code ? paint(code, text, style) : text;
}

/** Shows a long action's job record on stderr: one updating line on a terminal, one line per update otherwise. */
export function progressPrinter(stream: TextOutput): (record: Readonly<JobRecord>) => void {
  return (record) => {
    const percent = record.percent === null ? '' : ` ${record.percent}%`;
    const message = record.message ? ` ${record.message}` : '';
    const outcome = record.state === 'running' ? '' : ` (${record.state}${record.error_code ? `: ${record.error_code}` : ''})`;
    const line = `hvagent: ${record.agent} ${record.action}${record.target ? ` ${record.target}` : ''}: ${record.phase}${percent}${message}${outcome}`;
    if (!stream.isTTY) stream.write(`${line}\n`);
    else stream.write(`\r\x1b[K${line.slice(0, Math.max(20, (stream.columns || 80) - 1))}${record.state === 'running' ? '' : '\n'}`);
  };
}
