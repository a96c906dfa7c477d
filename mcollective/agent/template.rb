# Generated from ddl/template.yaml by hvagent. Do not edit: change the YAML and run npm run generate.
require 'mcollective/util/hvagent_runner'

module MCollective
  module Agent
    class Template < RPC::Agent
      HVAGENT = File.join(File.dirname(__FILE__), 'hvagent', 'hvagent')

      action 'list' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'info' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'import' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'delete' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'prune' do
        Util::HvagentRunner.run(self, HVAGENT)
      end
    end
  end
end
