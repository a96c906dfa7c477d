# bench/fleet-trace: many batched requests from one mco client process (no Ruby start-up per
# request): rpcutil ping, host agent_info, host info, vm list alternated; blocktime per host.
require 'mcollective'
include MCollective::RPC
cfg = ARGV[0]; rounds = Integer(ARGV[1] || 30)
# Wall clock of the client's stages per request id and sender, written to ARGV[2] when given:
# published (the request left the client), received (its reply decoded), done (processed).
$walls = []
module MCollective
  class Client
    alias_method :__start_publisher, :start_publisher
    alias_method :__receive, :receive
    def start_publisher(request, timeout)
      __start_publisher(request, timeout)
      $published = Time.now.to_f
    end
    def receive(requestid = nil)
      message = __receive(requestid)
      $walls << [message.requestid, message.payload[:senderid], $published, Time.now.to_f]
      message
    end
    # The end of one request of the batch (--batch 1: one reply each), as mco's blocktime ends.
    alias_method :__update_stat, :update_stat
    def update_stat(*args)
      $walls.last << Time.now.to_f if $walls.last && $walls.last.size == 4
      __update_stat(*args)
    end
  end
end
MCollective::Config.instance.loadconfig(cfg)
nodes = File.read(File.join(File.dirname(cfg), 'nodes.txt')).split
acts = [%w[rpcutil ping], %w[host agent_info], %w[host info], %w[vm list]]
clients = acts.map do |agent, _|
  c = rpcclient(agent, :options => MCollective::Util.default_options.merge(:config => cfg, :verbose => false, :progress_bar => false))
  c.progress = false
  c.discover(:nodes => nodes)
  c.batch_size = 1; c.batch_sleep_time = 0
  c
end
res = Hash.new { |h, k| h[k] = [] }
(rounds + 2).times do |r|
  acts.each_with_index do |(agent, action), i|
    c = clients[i]
    c.reset_stats rescue nil
    out = c.send(action)
    $walls.last(2).each { |w| w << "#{agent}##{action}" } if r >= 2
    raise "#{agent} #{action}: #{out.size}" unless out.size == 2 && out.all? { |x| x[:statuscode] == 0 }
    res["#{agent}##{action}"] << c.stats.blocktime * 1000 / 2 if r >= 2
  end
end
med = ->(a) { s = a.sort; s[s.size / 2] }
ping = med.(res['rpcutil#ping'])
puts "load #{File.read('/proc/loadavg').split[0, 3].join(' ')} rounds #{rounds}"
res.each { |k, v| puts "%-18s median %.2f ms/host  share %.0f%%" % [k, med.(v), 100 * (med.(v) - ping) / med.(v)] }
File.write(ARGV[2], $walls.select { |w| w.size == 6 }.map { |w| w.join(' ') }.join("\n") + "\n") if ARGV[2]
