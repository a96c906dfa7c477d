// Text that came from a caller, made safe to put in a message or a log line: control and
// non-ASCII characters become '?', and it is cut to a length a person can read.

export function printable(value: string, maxLength = 64): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}…` : clean;
}
