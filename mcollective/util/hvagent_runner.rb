# Runs hvagent's external program for one SimpleRPC action.
#
# It speaks the same protocol as RPC::Agent#implemented_by: `<command> <request_file>
# <reply_file>`, a flat JSON object in the reply file, exit code 1..5 = RPC statuscode with
# the message on stderr. It does not use MCollective::Shell, for two reasons:
#   * on Ruby >= 3.0 (Debian 12's stock MCollective 2.12.5) Shell fails every call: systemu
#     cannot attach its thread to the frozen Process::Status, so Shell#runcommand raises
#     NoMethodError `thread' after the program has run (and its reply is lost);
#   * Shell never kills a hung program: MCollective's own agent timeout only drops the reply.
#
# Usage, in a generated agent stub (and HvagentRunner.call for a request made on the server itself):
#   require 'mcollective/util/hvagent_runner'
#   action "info" do
#     MCollective::Util::HvagentRunner.run(self, File.join(File.dirname(__FILE__), "hvagent", "hvagent"))
#   end
#
# Where `hvagent serve` runs (its unix socket exists: HVAGENT_SOCKET, default
# /run/hvagent/hvagent.sock), the request is handed to it over that socket instead: no
# program is started at all, and the server answers from warm state. Connections are kept
# open between requests (mcollectived lives on; the server identifies a connection's peer
# once). A server that cannot be reached, or says it is stopping, has taken nothing: the
# program runs as before.
#
# Stdlib only; works on Ruby 2.x and 3.x.
require 'json'
require 'securerandom'
require 'socket'
require 'tempfile'
require 'tmpdir'

module MCollective
  module Util
    module HvagentRunner
      # Highest exit code that is passed through as an RPC statuscode; 1..5 are
      # aborted, unknown action, missing data, invalid data, unknown error.
      MAX_STATUSCODE = 5
      # Only this much of the program's stdout/stderr is logged (a runaway program
      # must not flood the daemon log or its memory).
      MAX_OUTPUT = 256 * 1024
      # Used when neither the agent nor its DDL gives a timeout (same default as RPC::Agent).
      DEFAULT_TIMEOUT = 10
      DEFAULT_SOCKET = "/run/hvagent/hvagent.sock"
      # A reply larger than this from the server is refused (hvagent replies are far smaller).
      MAX_REPLY = 64 * 1024 * 1024

      # An idle kept-alive connection older than this is not reused (the server closes idle
      # unix-socket connections after 300 s).
      IDLE_REUSE = 240.0

      def self.run(agent, command)
        Invocation.new(agent, command).run
      end

      # A request made here rather than received from a client (the hvagent data plugin asks
      # `host capacity` or `vm info` during discovery): the same program and protocol, with
      # no caller. Returns the reply: statuscode, statusmsg and data (keys symbolised).
      def self.call(command, agent, action, data, timeout)
        reply = LocalReply.new
        request = LocalRequest.new(agent, action, data, "hvagent data plugin", nil, SecureRandom.hex(16))
        Invocation.new(LocalAgent.new(request, reply, timeout), command).run
        reply
      end

      LocalRequest = Struct.new(:agent, :action, :data, :sender, :caller, :uniqid)
      LocalAgent = Struct.new(:request, :reply, :timeout)

      # What RPC::Reply offers the invocation: data to merge into, and fail.
      class LocalReply
        attr_reader :data, :statuscode, :statusmsg

        def initialize
          @data = {}
          @statuscode = 0
          @statusmsg = "OK"
        end

        def fail(message, code = 1)
          @statusmsg = message
          @statuscode = code
        end
      end

      # Idle connections to the server, by socket path: [socket, last used].
      @idle = Hash.new { |hash, key| hash[key] = [] }
      @idle_lock = Mutex.new

      # A connection to the server: a kept-alive one that is still open, else a new one; nil
      # when no server listens there (raises SystemCallError when it cannot be reached). The
      # socket file is only looked at for a new connection: a server that stopped has closed
      # the kept ones.
      def self.checkout(path)
        loop do
          socket, used = @idle_lock.synchronize { @idle[path].pop }
          break if socket.nil?
          # Readable while idle means closed by the server (or garbage): never reused.
          return socket if Time.now - used < IDLE_REUSE && !IO.select([socket], nil, nil, 0)

          socket.close unless socket.closed?
        end
        return nil unless File.socket?(path)

        UNIXSocket.new(path)
      end

      def self.checkin(path, socket)
        @idle_lock.synchronize { @idle[path].push([socket, Time.now]) }
      end

      # One run of the program for one request; fills in agent.reply.
      class Invocation
        def initialize(agent, command)
          @request = agent.request
          @reply = agent.reply
          @command = command
          @label = "%s#%s command: %s" % [@request.agent, @request.action, command]
          timeout = agent_timeout(agent)
          # MCollective abandons the request (no reply at all) when the agent timeout T
          # expires. hvagent gives up at T - M, M = max(2 s, 10 %), undoes what it made
          # within G = min(10 s, 3/4 M), and has replied by T - M + G (src/dispatch/deadline.ts,
          # docs/RELIABILITY.md "Crash safety"). Only a program still running then is sent
          # TERM (hvagent answers at once: its time is up), and KILL at T - M/10, early
          # enough for the reply to reach MCollective before T.
          margin = [2.0, timeout * 0.1].max
          @deadline = timeout - margin + [10.0, margin * 0.75].min
          @grace = timeout - margin / 10 - @deadline
        end

        def run
          return if handed_over

          unless File.file?(@command) && File.executable?(@command)
            return cannot_execute("not an executable file")
          end

          files = {} # filled one by one, so that ensure removes whatever was created
          begin
            files[:request] = request_file
            files[:reply] = empty_tempfile("mcollective_reply")
            files[:stdout] = empty_tempfile("hvagent_stdout")
            files[:stderr] = empty_tempfile("hvagent_stderr")
          rescue SystemCallError => e # a full or read-only TMPDIR
            return cannot_write(e)
          end

          begin
            status = execute(files)
          rescue SystemCallError => e # ENOENT/EACCES/ENOEXEC from exec itself
            return cannot_execute(e.message)
          end
          log_output(files[:stdout].path, files[:stderr].path)
          return timed_out unless status

          merge_reply_data(files[:reply].path)
          apply_exit_status(status, first_line(files[:stderr].path))
        ensure
          files.each_value(&:close!) if files
        end

        private

        def agent_timeout(agent)
          timeout = agent.timeout if agent.respond_to?(:timeout)
          timeout ||= agent.meta[:timeout] if agent.respond_to?(:meta) && agent.meta
          (timeout || DEFAULT_TIMEOUT).to_f
        end

        # Same content as Request#to_json, except that callerid carries the real caller
        # (MCollective serialises the never-set @callerid, i.e. always null).
        def request_body
          {
            "agent" => @request.agent,
            "action" => @request.action,
            "data" => @request.data,
            "sender" => @request.sender,
            "callerid" => @request.caller,
            "uniqid" => @request.uniqid
          }
        end

        def request_file
          file = Tempfile.new("mcollective_request", Dir.tmpdir) # mode 0600
          file.puts(JSON.generate(request_body)) # puts: trailing "\n", as ActionRunner writes it
          file.close
          file
        end

        # True when hvagent serve took the request (the reply is filled in, whatever its
        # outcome); false when it could not be reached or is stopping.
        def handed_over
          path = ENV.fetch("HVAGENT_SOCKET", DEFAULT_SOCKET)
          return false if path.empty? || path == "none"

          begin
            socket = HvagentRunner.checkout(path)
          rescue SystemCallError
            return false
          end
          return false if socket.nil?

          reusable = false
          begin
            # The request as an object, not as a request file's text: one JSON encoding, one parse.
            # One line of JSON each way (the server's hand-over wire: a connection whose first
            # byte is "{" is not HTTP), answered by a line {"reply": {...}}.
            socket.write(JSON.generate("request" => request_body, "protocol" => "mcollective") + "\n")
            reply = read_reply_line(socket)
            return false if reply.nil? # a server that speaks only HTTP refused the line: nothing ran
            return false if (reply["data"] || {})["error_code"] == "SERVER_UNAVAILABLE" # stopping: it took nothing

            reusable = true
            apply_server_reply(reply)
          rescue SystemCallError, IOError, JSON::ParserError, EncodingError, RuntimeError => e
            # Sent, but no answer: it may have run, so it is not run again here.
            reusable = false
            Log.error("#{@label}: handed to hvagent serve at #{path}, but its reply was lost: #{e.message}")
            @reply.fail("The request was handed to hvagent serve, but its reply was lost (#{e.message}); it may have run: check before retrying", 1)
          ensure
            if reusable
              HvagentRunner.checkin(path, socket)
            else
              socket.close unless socket.closed?
            end
          end
          true
        end

        # The server's reply line, within the request's deadline (progress lines, which this
        # runner never asks for, are skipped); nil when the server answered in HTTP instead.
        def read_reply_line(socket)
          until_time = Time.now + @deadline
          buffer = +""
          loop do
            return nil if buffer.start_with?("HTTP/")

            newline = buffer.index("\n")
            if newline
              line = buffer.slice!(0, newline + 1).force_encoding(Encoding::UTF_8)
              next if line.strip.empty?

              message = JSON.parse(line)
              raise "the server's answer is not a hand-over line" unless message.is_a?(Hash)
              return message["reply"] if message.key?("reply")

              next
            end

            left = until_time - Time.now
            raise "no reply within #{seconds(@deadline)}s" if left <= 0 || !IO.select([socket], nil, nil, left)

            chunk = socket.read_nonblock(65_536, exception: false)
            raise "the server closed the connection" if chunk.nil?

            buffer << chunk unless chunk == :wait_readable
            raise "reply larger than #{MAX_REPLY} bytes" if buffer.bytesize > MAX_REPLY
          end
        end

        # The reply is {statuscode, statusmsg, data}: data merged over the DDL defaults, as
        # with the program's reply file; a failure keeps its statuscode and message.
        def apply_server_reply(reply)
          raise "the server's reply is not an RPC reply" unless reply.is_a?(Hash) && reply["data"].is_a?(Hash)

          reply["data"].each_pair { |key, value| @reply.data[key.to_sym] = value }
          code = reply["statuscode"].to_i
          @reply.fail(reply["statusmsg"].to_s, [[code, 1].max, MAX_STATUSCODE].min) unless code.zero?
        end

        def empty_tempfile(prefix)
          file = Tempfile.new(prefix, Dir.tmpdir)
          file.close
          file
        end

        # Returns the Process::Status, or nil if the deadline passed and the program was killed.
        def execute(files)
          env = {
            "LC_ALL" => "C",
            "MCOLLECTIVE_REQUEST_FILE" => files[:request].path,
            "MCOLLECTIVE_REPLY_FILE" => files[:reply].path
          }
          # argv array: no shell, paths with spaces are safe. Own process group so that a
          # timeout can kill everything the program started.
          pid = Process.spawn(env, @command, files[:request].path, files[:reply].path,
                              :in => File::NULL,
                              :out => [files[:stdout].path, "w"],
                              :err => [files[:stderr].path, "w"],
                              :chdir => Dir.tmpdir,
                              :pgroup => true)
          waiter = Process.detach(pid)
          finished = waiter.join(@deadline)
          return waiter.value if finished

          Log.error("#{@label}: still running after #{seconds(@deadline)}s, sending TERM to its process group")
          kill_group(pid, "TERM")
          # A program that answers TERM (hvagent replies CANCELLED) has its reply passed on.
          finished = waiter.join(@grace)
          finished ? waiter.value : nil
        ensure
          # Also reached when MCollective's own Timeout::Error interrupts the wait: never leave
          # the program's process group running. KILL what TERM did not stop, grandchildren too.
          kill_group(pid, "KILL") if waiter && !finished
        end

        def kill_group(pid, signal)
          Process.kill(signal, -pid)
        rescue Errno::ESRCH, Errno::EPERM
          nil # already gone
        end

        def log_output(stdout_path, stderr_path)
          read_output(stderr_path).each_line { |l| Log.error("#{@label}: #{l.chomp}") }
          read_output(stdout_path).each_line { |l| Log.info("#{@label}: #{l.chomp}") }
        end

        def read_output(path)
          text = File.read(path, MAX_OUTPUT) || ""
          text.force_encoding(Encoding::UTF_8).scrub
        end

        # hvagent prints exactly one line on stderr when it fails; that line is the statusmsg.
        def first_line(path)
          line = read_output(path).each_line.map(&:strip).find { |l| !l.empty? }
          line && line[0, 1024]
        end

        # Like ActionRunner#load_results: top-level keys, symbolised, merged over the DDL output
        # defaults; anything that is not a JSON object leaves the defaults alone. JSON.parse
        # rather than JSON.load, which could instantiate arbitrary classes (json_class).
        def merge_reply_data(path)
          data = JSON.parse(File.read(path))
          return unless data.is_a?(Hash)

          data.each_pair { |key, value| @reply.data[key.to_sym] = value }
        rescue JSON::ParserError, SystemCallError, EncodingError
          nil
        end

        def apply_exit_status(status, stderr_line)
          if status.signaled?
            @reply.fail("#{@label} was killed by signal SIG#{Signal.signame(status.termsig)}", MAX_STATUSCODE)
          elsif status.exitstatus > MAX_STATUSCODE
            @reply.fail("#{@label} exited with code #{status.exitstatus}: #{stderr_line}".chomp(": "), MAX_STATUSCODE)
          elsif status.exitstatus > 0
            @reply.fail(stderr_line || "#{@label} exited with code #{status.exitstatus}", status.exitstatus)
          end
        end

        def timed_out
          @reply.fail("#{@label} did not finish within #{seconds(@deadline)}s and was killed", 1)
        end

        def seconds(value)
          format("%g", value)
        end

        def cannot_write(error)
          message = "Cannot run #{@label}: its request and reply files cannot be written in the temporary directory #{Dir.tmpdir} (TMPDIR): #{error.message}"
          Log.error(message)
          @reply.fail(message, 1)
        end

        def cannot_execute(reason)
          Log.error("Cannot execute #{@label}: #{reason}")
          @reply.fail("Cannot execute #{@label}: #{reason}", 1)
        end
      end
    end
  end
end
