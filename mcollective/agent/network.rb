# Generated from ddl/network.yaml by hvagent. Do not edit: change the YAML and run npm run generate.
require 'mcollective/util/hvagent_runner'

module MCollective
  module Agent
    class Network < RPC::Agent
      HVAGENT = File.join(File.dirname(__FILE__), 'hvagent', 'hvagent')

      action 'list' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'nic_list' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'nic_attach' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'nic_detach' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'create' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'delete' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'start' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'stop' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'autostart' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'lease_list' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'lease_set' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'lease_remove' do
        Util::HvagentRunner.run(self, HVAGENT)
      end
    end
  end
end
