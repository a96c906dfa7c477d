# Generated from ddl/job.yaml by hvagent. Do not edit: change the YAML and run npm run generate.
require 'mcollective/util/hvagent_runner'

module MCollective
  module Agent
    class Job < RPC::Agent
      HVAGENT = File.join(File.dirname(__FILE__), 'hvagent', 'hvagent')

      action 'list' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'status' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'wait' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'cancel' do
        Util::HvagentRunner.run(self, HVAGENT)
      end
    end
  end
end
