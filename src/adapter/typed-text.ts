// A value given as text (`key=value` on the command line, a query-string parameter) typed
// by the DDL, as `mco rpc` does; anything that does not parse stays text, so that the
// validator (not the front end) says what is wrong with it.

export function typed(type: string | undefined, text: string): unknown {
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
