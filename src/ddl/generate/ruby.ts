/**
 * A Ruby string literal. Printable ASCII is single-quoted (only `\` and `'` need escaping,
 * nothing interpolates). Anything else is double-quoted with \u escapes: MCollective reads a
 * DDL with File.read and instance_eval, in the locale's encoding, and under LC_ALL=C (a
 * daemon's usual environment) a raw "…" stops the whole DDL loading ("invalid multibyte char
 * (US-ASCII)").
 */
export function rubyString(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  const escaped = [...value]
    .map((char) => {
      if (char === '\\' || char === '"' || char === '#') return `\\${char}`;
      return /[\x20-\x7e]/.test(char) ? char : `\\u{${char.codePointAt(0)!.toString(16)}}`;
    })
    .join('');
  return `"${escaped}"`;
}

export function rubyValue(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return rubyString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`No Ruby literal for ${JSON.stringify(value)}`);
}

/** `:key => value` pairs aligned the way MCollective's own DDLs are written. */
export function rubyOptions(pairs: Array<[string, string]>, indent: string): string {
  const width = Math.max(...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `:${key.padEnd(width)} => ${value}`).join(`,\n${indent}`);
}

/** `vm_mgr` → `Vm_mgr`, as MCollective's class_for_agent expects. */
export function rubyClassName(agent: string): string {
  return agent.charAt(0).toUpperCase() + agent.slice(1);
}
