# The hvagent data plugin: discovery by what a host can take and by which VMs it holds.
#
#   mco rpc vm list -S "hvagent().free_memory_mb > 2048"          hosts with room
#   mco rpc vm start name=web01 -S "hvagent('web01').present=true" only the host holding web01
#
# It runs inside mcollectived while a discovery request (or the request itself) is
# matched, and asks hvagent on this host through the same program and protocol as the
# agents: `host capacity` without a query, `vm locate name=QUERY` with one (each a single
# virsh process, to stay well within the plugin's timeout on a busy host). A host that
# cannot answer leaves every output nil, so that no comparison matches it: it is neither
# claimed to hold the VM nor to lack it.
require 'mcollective/util/hvagent_runner'

module MCollective
  module Data
    class Hvagent_data < Base
      HVAGENT = File.expand_path(File.join(File.dirname(__FILE__), '..', 'agent', 'hvagent', 'hvagent'))

      # `host capacity` outputs offered as they are (integers, or nil where a limit is off).
      CAPACITY = [:free_memory_mb, :free_vcpus, :free_vm_slots, :pool_free_mb, :memory_mb, :allocated_memory_mb,
                  :memory_limit_mb, :cpus, :allocated_vcpus, :vcpu_limit, :vms, :running_vms].freeze

      # One discovery request may name the plugin several times (free_memory_mb > 1024 and
      # free_vcpus > 1): each answer is reused for this long instead of asking hvagent again.
      REUSE_SECONDS = 1.0
      @answers = {}
      @answers_lock = Mutex.new

      class << self
        def remembered(key)
          @answers_lock.synchronize do
            @answers.delete_if { |_, (at, _)| monotonic - at > REUSE_SECONDS }
            found = @answers[key]
            return found[1] if found
          end
          answer = yield
          @answers_lock.synchronize { @answers[key] = [monotonic, answer] }
          answer
        end

        def monotonic
          Process.clock_gettime(Process::CLOCK_MONOTONIC)
        end
      end

      activate_when { File.executable?(HVAGENT) }

      query do |name|
        if name.nil? || name.to_s.empty?
          capacity
        else
          vm(name.to_s)
        end
      end

      private

      def capacity
        reply = ask('host', 'capacity', {})
        return unless reply.statuscode.zero?

        CAPACITY.each { |key| store(key, reply.data[key]) }
      end

      def vm(name)
        reply = ask('vm', 'locate', 'name' => name)
        return unless reply.statuscode.zero?

        store(:present, reply.data[:present])
        store(:state, reply.data[:state])
        store(:vm_class, reply.data[:vm_class])
      end

      def ask(agent, action, data)
        self.class.remembered([agent, action, data]) do
          Util::HvagentRunner.call(HVAGENT, agent, action, data, timeout)
        end
      end

      # Data results take strings, numbers and booleans only; nil stays the default.
      def store(key, value)
        result[key] = value unless value.nil?
      end
    end
  end
end
