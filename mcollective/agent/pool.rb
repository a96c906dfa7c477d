# Generated from ddl/pool.yaml by hvagent. Do not edit: change the YAML and run npm run generate.
require 'mcollective/util/hvagent_runner'

module MCollective
  module Agent
    class Pool < RPC::Agent
      HVAGENT = File.join(File.dirname(__FILE__), 'hvagent', 'hvagent')

      action 'list' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'create' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'delete' do
        Util::HvagentRunner.run(self, HVAGENT)
      end
    end
  end
end
