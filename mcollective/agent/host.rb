# Generated from ddl/host.yaml by hvagent. Do not edit: change the YAML and run npm run generate.
require 'mcollective/util/hvagent_runner'

module MCollective
  module Agent
    class Host < RPC::Agent
      HVAGENT = File.join(File.dirname(__FILE__), 'hvagent', 'hvagent')

      action 'info' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'agent_info' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'usage' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'capacity' do
        Util::HvagentRunner.run(self, HVAGENT)
      end
    end
  end
end
