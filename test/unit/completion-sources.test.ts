import { COMPLETION_SOURCES } from '../../src/adapter/cli-complete.js';
import { NAME_SOURCES } from '../../src/ddl/generate/completion.js';

test('every source of names the completion scripts ask `hvagent __complete` for exists', () => {
  for (const source of new Set(Object.values(NAME_SOURCES))) expect(COMPLETION_SOURCES).toContain(source);
});
