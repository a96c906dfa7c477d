/** A Ruby single-quoted literal: only `\` and `'` need escaping, and nothing interpolates. */
export function rubyString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
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
