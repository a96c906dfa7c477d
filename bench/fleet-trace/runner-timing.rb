# bench/fleet-trace: appended to the copy of hvagent_runner.rb in a private fleet (never in
# production): logs the stages of each request in mcollectived as HVTIMING lines.
module MCollective
  class Runner
    alias_method :__agentmsg, :agentmsg
    alias_method :__reply, :reply
    def agentmsg(request)
      Thread.current[:hv_t0] = nil
      $hv_recv = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      $hv_recv_wall = Time.now.to_f
      __agentmsg(request)
    end
    def reply(msg, request)
      t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      __reply(msg, request)
      t2 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      hv = Thread.current[:hv_timing] || {}
      Log.info("HVTIMING agent=#{request.agent} dispatch_to_reply=%.3f encode_publish=%.3f %s" % [(t - $hv_recv) * 1000, (t2 - t) * 1000, hv.map { |k, v| "#{k}=%.3f" % v }.join(' ')])
      # Wall clock, to be matched with the client's (same machine): when the request reached
      # the agent, when its reply was published.
      Log.info("HVWALL id=#{request.requestid} sender=#{Config.instance.identity} agentmsg=%.6f replied=%.6f" % [$hv_recv_wall, Time.now.to_f])
      Thread.current[:hv_timing] = nil
    end
  end
  module Util
    module HvagentRunner
      class Invocation
        alias_method :__run, :run
        def run
          t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
          __run
          (Thread.current[:hv_timing] ||= {})[:runner] = (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t) * 1000
        end
        # The runner's wait for the server's answer: a reply line (the hand-over wire), or an
        # HTTP reply in checkouts from before it.
        exchange = method_defined?(:read_reply_line, false) || private_method_defined?(:read_reply_line, false) ? :read_reply_line : :read_http_reply
        alias_method :__read_answer, exchange
        define_method(exchange) do |socket|
          t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
          r = __read_answer(socket)
          (Thread.current[:hv_timing] ||= {})[:http] = (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t) * 1000
          r
        end
        private exchange
      end
    end
  end
end
