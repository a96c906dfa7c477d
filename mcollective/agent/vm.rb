# Generated from ddl/vm.yaml by hvagent. Do not edit: change the YAML and run npm run generate.
require 'mcollective/util/hvagent_runner'

module MCollective
  module Agent
    class Vm < RPC::Agent
      HVAGENT = File.join(File.dirname(__FILE__), 'hvagent', 'hvagent')

      action 'list' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'info' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'console_log' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'console' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'locate' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'statistics' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'create' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'modify' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'start' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'shutdown' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'poweroff' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'reboot' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'suspend' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'resume' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'delete' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'snapshot_create' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'snapshot_list' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'snapshot_revert' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'snapshot_delete' do
        Util::HvagentRunner.run(self, HVAGENT)
      end

      action 'migrate' do
        Util::HvagentRunner.run(self, HVAGENT)
      end
    end
  end
end
