import type * as Crypto from 'node:crypto';

// node:crypto on first use: importing it brings Node's whole stream stack (~14 M
// instructions at start-up), and modules on every request's path (locks, replay keys)
// need it only when a request gets that far (P1, docs/PERFORMANCE.md). In the bundle
// `require` is the loader's; under the ESM test runner, Node's own builtin lookup.
let loaded: typeof Crypto | undefined;

export function nodeCrypto(): typeof Crypto {
  const builtin = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  loaded ??= (typeof require === 'function' ? require('node:crypto') : builtin?.('node:crypto')) as typeof Crypto;
  return loaded;
}

export function sha256Hex(text: string): string {
  return nodeCrypto().createHash('sha256').update(text).digest('hex');
}
