# mco hvagent: fleet views and placement over hvagent's agents (docs/FLEET.md).
#
#   mco hvagent list                 one row per VM across the discovered hosts
#   mco hvagent capacity             what each host may still take, most free memory first
#   mco hvagent find PATTERN         host, name, state and class of each matching VM
#   mco hvagent info NAME            the VM NAME wherever it is, in readable sections
#   mco hvagent place name=… template=… memory_mb=… [vcpus=…]
#                                    creates the VM on the host with the most free memory
#                                    that has the template and admits it
#
# The usual discovery options select the hosts (-I, -C, -S "hvagent().free_memory_mb > 2048",
# --nodes FILE); --json prints the rows as JSON. Exit codes, for scripts: 0 done; 1 bad usage
# or the VM name is taken; 2 a host failed or did not answer (what did answer is printed);
# 3 nothing matched (find, info), no host could take the VM (place); 4 no host answered at all.
require 'json'

module MCollective
  class Application
    class Hvagent < Application
      description "Fleet views and placement for hvagent hosts: VM tables, capacity, find, info, place"

      usage "mco hvagent list [--json] [FILTERS]"
      usage "mco hvagent capacity [--json] [FILTERS]"
      usage "mco hvagent find PATTERN [--json] [FILTERS]"
      usage "mco hvagent info NAME [--json] [FILTERS]"
      usage "mco hvagent place name=NAME template=TYPE:NAME memory_mb=MIB [vcpus=N] [vm_class=qemu|kvm|lxc] " \
            "[start=true|false] [pool=POOL] [network=NETS] [disk_size_mb=MIB] [autostart=true|false] [--json] [FILTERS]"

      EXIT_OK = 0
      EXIT_USAGE = 1
      EXIT_PARTIAL = 2
      EXIT_NOTHING = 3
      EXIT_NO_REPLIES = 4

      COMMANDS = %w[list capacity find info place].freeze

      # place's key=value arguments, as vm create's inputs of the same names take them.
      PLACE_INPUTS = {
        'name' => :string, 'template' => :string, 'memory_mb' => :integer, 'vcpus' => :integer,
        'vm_class' => :string, 'start' => :boolean, 'pool' => :string, 'network' => :string,
        'disk_size_mb' => :integer, 'autostart' => :boolean
      }.freeze
      PLACE_REQUIRED = %w[name template memory_mb].freeze

      # What find takes: VM name characters and the glob characters * ? [ ].
      PATTERN = /\A[A-Za-z0-9_.\-*?\[\]]{1,63}\z/
      VM_NAME = /\A[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\z/

      def post_option_parser(configuration)
        configuration[:command] = ARGV.shift
        configuration[:arguments] = ARGV.dup
        ARGV.clear
      end

      def validate_configuration(configuration)
        command = configuration[:command]
        usage_error("give a command: #{COMMANDS.join(', ')}") unless command
        usage_error("unknown command '#{command}': use one of #{COMMANDS.join(', ')}") unless COMMANDS.include?(command)
        arguments = configuration[:arguments]
        case command
        when 'find'
          usage_error('find takes one PATTERN, e.g. web* or web01') unless arguments.size == 1
          usage_error("PATTERN #{arguments[0].inspect} may hold only letters, digits, '.', '_', '-' and * ? [ ]") unless arguments[0] =~ PATTERN
        when 'info'
          usage_error('info takes one VM NAME') unless arguments.size == 1
          usage_error("NAME #{arguments[0].inspect} is not a VM name") unless arguments[0] =~ VM_NAME
        when 'place'
          configuration[:place] = place_arguments(arguments)
        else
          usage_error("#{command} takes no arguments (got #{arguments.join(' ')})") unless arguments.empty?
        end
      end

      def main
        send("#{configuration[:command]}_command")
      end

      # ---- list ------------------------------------------------------------------------------

      def list_command
        vm = client('vm')
        rows = []
        failures = each_reply(vm, :list, :details => true) do |host, data|
          (data[:vms] || []).each do |entry|
            rows << { 'host' => host, 'name' => entry['name'], 'state' => entry['state'], 'class' => entry['vm_class'] || entry['driver'],
                      'memory_mb' => entry['memory_mb'], 'vcpus' => entry['vcpus'], 'ips' => entry['ipv4'] || [] }
          end
        end
        rows = rows.sort_by { |row| [row['host'], row['name']] }
        print_rows(rows, [['HOST', 'host'], ['NAME', 'name'], ['STATE', 'state'], ['CLASS', 'class'],
                          ['MEM(MiB)', 'memory_mb', :right], ['VCPUS', 'vcpus', :right], ['IPS', 'ips']])
        finish(vm, failures)
      end

      # ---- capacity --------------------------------------------------------------------------

      def capacity_command
        host = client('host')
        rows = []
        failures = each_reply(host, :capacity) do |name, data|
          rows << { 'host' => name, 'free_memory_mb' => data[:free_memory_mb], 'free_vcpus' => data[:free_vcpus],
                    'running_vms' => data[:running_vms], 'vms' => data[:vms], 'max_vms' => data[:limits] && data[:limits]['max_vms'],
                    'pool_free_mb' => data[:pool_free_mb], 'memory_limit_mb' => data[:memory_limit_mb], 'vcpu_limit' => data[:vcpu_limit] }
        end
        rows = rows.sort_by { |row| [-(row['free_memory_mb'] || -1), row['host']] }
        print_rows(rows, [['HOST', 'host'], ['FREE MEM(MiB)', 'free_memory_mb', :right], ['FREE VCPUS', 'free_vcpus', :right],
                          ['RUNNING', 'running_vms', :right], ['VMS', 'vms', :right], ['MAX VMS', 'max_vms', :right],
                          ['POOL FREE(MiB)', 'pool_free_mb', :right]])
        finish(host, failures)
      end

      # ---- find ------------------------------------------------------------------------------

      def find_command
        pattern = configuration[:arguments][0]
        vm = client('vm')
        rows = []
        failures = each_reply(vm, :list, :details => true) do |host, data|
          (data[:vms] || []).each do |entry|
            next unless File.fnmatch(pattern, entry['name'].to_s)

            rows << { 'host' => host, 'name' => entry['name'], 'state' => entry['state'], 'class' => entry['vm_class'] || entry['driver'] }
          end
        end
        rows = rows.sort_by { |row| [row['name'], row['host']] }
        print_rows(rows, [['HOST', 'host'], ['NAME', 'name'], ['STATE', 'state'], ['CLASS', 'class']])
        finish(vm, failures, rows.empty? ? "no VM matches #{pattern}" : nil)
      end

      # ---- info ------------------------------------------------------------------------------

      # `mco rpc vm info name=X` asks every host and fails on all but one (NOT_FOUND); here the
      # hosts that lack the VM are simply not it, and the one that has it is shown in sections.
      def info_command
        name = configuration[:arguments][0]
        vm = client('vm')
        found = []
        failures = each_reply(vm, :info, :name => name) { |host, data| found << [host, data] }
        missing = failures.select { |_, _, code| code == 'NOT_FOUND' }
        failures -= missing
        if json?
          puts JSON.generate(found.map { |host, data| { 'host' => host }.merge(stringified(data)) })
        else
          found.sort.each_with_index do |(host, data), i|
            puts if i > 0
            print_vm(host, data)
          end
        end
        finish(vm, failures, found.empty? ? "no VM named #{name} on the hosts that answered" : nil)
      end

      # ---- place -----------------------------------------------------------------------------

      def place_command
        want = configuration[:place]
        name = want['name']
        start = want.fetch('start', true)
        vcpus = want.fetch('vcpus', 1)

        # 1. Every discovered host judges the VM's size under its own admission limits.
        host = client('host')
        capacity = {}
        failures = each_reply(host, :capacity, :memory_mb => want['memory_mb'], :vcpus => vcpus, :start => start) do |sender, data|
          capacity[sender] = data
        end
        hosts = capacity.keys.sort
        finish(host, failures) if hosts.empty?

        # 2. Which of them have the template, and that none holds a VM of that name already.
        templates = client('template', hosts)
        having = []
        each_reply(templates, :info, :ref => want['template']) { |sender, _| having << sender }
        vms = client('vm', hosts)
        holders = []
        each_reply(vms, :locate, :name => name) { |sender, data| holders << sender if data[:present] }
        unless holders.empty?
          STDERR.puts "mco hvagent place: a VM named #{name} exists already on #{holders.sort.join(', ')}"
          exit EXIT_USAGE
        end

        # Hosts that could not judge it are passed over, and said so.
        skipped = failures.map { |sender, message, _| { 'host' => sender, 'reason' => message } }
        candidates = hosts.select do |sender|
          data = capacity[sender]
          if !having.include?(sender)
            skipped << { 'host' => sender, 'reason' => "has no template #{want['template']}" }
          elsif data[:admits] != true
            skipped << { 'host' => sender, 'reason' => data[:refusal] || 'does not admit it' }
          end
          having.include?(sender) && data[:admits] == true
        end
        candidates = candidates.sort_by { |sender| [-capacity[sender][:free_memory_mb].to_i, sender] }

        # 3. Create it on the first candidate; another request may have taken the room in
        # the meantime: that host's admission refuses, and the next one is tried.
        arguments = create_arguments(want, start, vcpus)
        candidates.each do |sender|
          vms.discover(:nodes => [sender])
          reply = create(vms, arguments)
          unless reply
            STDERR.puts "mco hvagent place: #{sender} did not answer the create; see whether #{name} was made there: mco hvagent find #{name}"
            exit EXIT_PARTIAL
          end
          if reply[:statuscode] == 0
            placed(name, sender, reply[:data], want, skipped)
            return
          end
          unless reply[:data][:error_code] == 'ADMISSION_DENIED'
            STDERR.puts "mco hvagent place: creating #{name} on #{sender} failed: #{reply[:statusmsg]}"
            exit EXIT_PARTIAL
          end
          skipped << { 'host' => sender, 'reason' => reply[:statusmsg] }
        end

        if json?
          puts JSON.generate('name' => name, 'host' => nil, 'skipped' => skipped)
        else
          STDERR.puts "mco hvagent place: no discovered host can take #{name} (#{want['memory_mb']} MiB, #{vcpus} vCPU#{vcpus == 1 ? '' : 's'}):"
          skipped.each { |entry| STDERR.puts "  #{entry['host']}: #{entry['reason']}" }
        end
        exit EXIT_NOTHING
      end

      private

      def usage_error(message)
        STDERR.puts "mco hvagent: #{message}"
        STDERR.puts "Run 'mco help hvagent' for the usage."
        exit EXIT_USAGE
      end

      def place_arguments(arguments)
        want = {}
        arguments.each do |argument|
          key, value = argument.split('=', 2)
          usage_error("place takes key=value arguments, not #{argument.inspect}") unless value
          type = PLACE_INPUTS[key]
          usage_error("place does not take #{key} (it takes #{PLACE_INPUTS.keys.join(', ')})") unless type
          want[key] = typed(key, value, type)
        end
        missing = PLACE_REQUIRED.reject { |key| want.include?(key) }
        usage_error("place needs #{missing.join(', ')}") unless missing.empty?
        want
      end

      def typed(key, value, type)
        case type
        when :integer
          usage_error("#{key} must be a whole number, not #{value.inspect}") unless value =~ /\A\d{1,9}\z/
          Integer(value, 10)
        when :boolean
          usage_error("#{key} must be true or false, not #{value.inspect}") unless %w[true false].include?(value)
          value == 'true'
        else
          value
        end
      end

      # vm create's inputs; the class follows the template's type unless given.
      def create_arguments(want, start, vcpus)
        arguments = { :name => want['name'], :template => want['template'], :memory_mb => want['memory_mb'], :vcpus => vcpus, :start => start,
                      :vm_class => want['vm_class'] || (want['template'] =~ /\A(lxc|tar):/ ? 'lxc' : 'qemu') }
        %w[pool network disk_size_mb autostart].each { |key| arguments[key.to_sym] = want[key] if want.include?(key) }
        arguments
      end

      def placed(name, sender, data, want, skipped)
        if json?
          puts JSON.generate('name' => name, 'host' => sender, 'state' => data[:state], 'vm_class' => data[:vm_class],
                             'template' => data[:template], 'skipped' => skipped)
        else
          skipped.each { |entry| STDERR.puts "skipped #{entry['host']}: #{entry['reason']}" }
          puts "#{name} placed on #{sender} (#{data[:state]}, #{data[:vm_class]}, #{want['memory_mb']} MiB, template #{data[:template]})"
        end
      end

      def create(rpc, arguments)
        rpc.create(arguments).first
      rescue DDLValidationError => e
        usage_error(e.message)
      end

      # A client for `agent` with the command line's discovery options, or for the given hosts.
      def client(agent, hosts = nil)
        rpc = rpcclient(agent)
        rpc.progress = false
        rpc.discover(:nodes => hosts) if hosts
        rpc
      end

      # Sends `action` and yields sender and data of each successful reply; returns
      # [sender, message, error_code] of the others. Inputs the DDL refuses are a usage error.
      def each_reply(rpc, action, arguments = {})
        failures = []
        rpc.send(action, arguments).each do |reply|
          if reply[:statuscode] == 0
            yield(reply[:sender], reply[:data])
          else
            failures << [reply[:sender], reply[:statusmsg].to_s.strip, reply[:data].is_a?(Hash) ? reply[:data][:error_code] : nil]
          end
        end
        failures
      rescue DDLValidationError => e
        usage_error(e.message)
      end

      def json?
        options[:output_format] == :json
      end

      def print_rows(rows, columns)
        if json?
          puts JSON.generate(rows)
          return
        end

        table(rows, columns).each { |text| puts text }
      end

      # The lines of an aligned table with a header; a column marked :right holds numbers.
      def table(rows, columns)
        cells = rows.map { |row| columns.map { |_, key, _| cell(row[key]) } }
        widths = columns.each_with_index.map { |(title, _, _), i| ([title.size] + cells.map { |line| line[i].size }).max }
        line = lambda do |values|
          values.each_with_index.map { |value, i| columns[i][2] == :right ? value.rjust(widths[i]) : value.ljust(widths[i]) }.join('  ').rstrip
        end
        [line.call(columns.map { |title, _, _| title })] + cells.map { |values| line.call(values) }
      end

      def print_vm(host, data)
        facts = data[:metadata].is_a?(Hash) ? data[:metadata] : {}
        puts "#{data[:name]} on #{host}"
        fields = [
          ['State', data[:state]], ['Class', data[:vm_class]],
          ['vCPUs', "#{cell(data[:vcpus])} (up to #{cell(data[:max_vcpus])})"],
          ['Memory', "#{cell(data[:memory_mb])} MiB (up to #{cell(data[:max_memory_mb])} MiB)"],
          ['Autostart', data[:autostart]], ['UUID', data[:uuid]], ['Console log', data[:console_log]],
          ['Template', facts['template']], ['Created', [facts['created_at'], facts['created_by'] && "by #{facts['created_by']}"].compact.join(' ')],
          ['Volumes', facts['volumes']]
        ]
        width = fields.map { |label, _| label.size }.max
        fields.each { |label, value| puts "  #{"#{label}:".ljust(width + 1)} #{cell(value.to_s.empty? ? nil : value)}" }
        section('Disks', data[:disks], [['TARGET', 'target'], ['DEVICE', 'device'], ['FORMAT', 'format'], ['SOURCE', 'source']])
        section('NICs', data[:nics], [['MAC', 'mac'], ['NETWORK', 'network'], ['BRIDGE', 'bridge'], ['MODEL', 'model'], ['IP', 'ip']])
      end

      def section(title, entries, columns)
        entries = entries.is_a?(Array) ? entries : []
        puts "#{title}:"
        return puts('  -') if entries.empty?

        table(entries, columns).each { |text| puts "  #{text}" }
      end

      def stringified(data)
        data.each_with_object({}) { |(key, value), out| out[key.to_s] = value }
      end

      def cell(value)
        case value
        when nil then '-'
        when Array then value.empty? ? '-' : value.join(',')
        else value.to_s
        end
      end

      # Failed and silent hosts on stderr; the exit code says what a script needs to know.
      # `failures` leaves out replies that failed as they should (info: hosts without the VM).
      def finish(rpc, failures, nothing = nil)
        stats = rpc.stats
        silent = stats.noresponsefrom
        failures.each { |sender, message, _| STDERR.puts "#{sender}: #{message}" }
        silent.each { |sender| STDERR.puts "#{sender}: no reply" }
        if stats.responses.to_i.zero?
          STDERR.puts 'mco hvagent: no host answered'
          exit EXIT_NO_REPLIES
        end
        exit EXIT_PARTIAL unless failures.empty? && silent.empty?
        if nothing
          STDERR.puts "mco hvagent: #{nothing}"
          exit EXIT_NOTHING
        end
        exit EXIT_OK
      end
    end
  end
end
