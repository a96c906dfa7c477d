import type { AgentDdl } from '../types.js';
import { rubyClassName, rubyString } from './ruby.js';

/**
 * `mcollective/agent/<agent>.rb`: every action hands the request to hvagent through our
 * runner, not `implemented_by`, which Ruby 3.1 breaks on Debian 12 (docs/reference/protocols.md §1.11).
 */
export function mcollectiveStub(ddl: AgentDdl, source: string): string {
  const actions = ddl.actions
    .map((action) => `      action ${rubyString(action.action)} do\n        Util::HvagentRunner.run(self, HVAGENT)\n      end`)
    .join('\n\n');
  return `# Generated from ${source} by hvagent. Do not edit: change the YAML and run npm run generate.
require 'mcollective/util/hvagent_runner'

module MCollective
  module Agent
    class ${rubyClassName(ddl.metadata.name)} < RPC::Agent
      HVAGENT = File.join(File.dirname(__FILE__), 'hvagent', 'hvagent')

${actions}
    end
  end
end
`;
}
