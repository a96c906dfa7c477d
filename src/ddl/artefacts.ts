import { choriaJsonDdl } from './generate/choria-json.js';
import { bashCompletion, zshCompletion } from './generate/completion.js';
import { markdownReference } from './generate/markdown.js';
import { mcollectiveDdl } from './generate/mcollective-ddl.js';
import { mcollectiveStub } from './generate/mcollective-stub.js';
import type { AgentDdl } from './types.js';

export interface Artefact {
  /** Relative to the repository root. */
  path: string;
  content: string;
}

/** Everything generated from ddl/: committed, and checked for staleness by the tests. */
export function generatedArtefacts(ddls: readonly AgentDdl[]): Artefact[] {
  const perAgent = ddls.flatMap((ddl) => {
    const name = ddl.metadata.name;
    const source = `ddl/${name}.yaml`;
    return [
      { path: `agent/${name}.json`, content: choriaJsonDdl(ddl) },
      { path: `mcollective/agent/${name}.ddl`, content: mcollectiveDdl(ddl, source) },
      { path: `mcollective/agent/${name}.rb`, content: mcollectiveStub(ddl, source) },
      { path: `docs/agents/${name}.md`, content: markdownReference(ddl, source) },
    ];
  });
  return [
    ...perAgent,
    { path: 'completion/hvagent.bash', content: bashCompletion(ddls) },
    { path: 'completion/_hvagent', content: zshCompletion(ddls) },
  ];
}
