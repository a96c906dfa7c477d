# Average of a numeric output over the replies that carry one: MCollective's own average
# adds the nil of a failed reply (every output is nil there) and raises, so one failing
# host used to hide the average of all the others.
require 'mcollective/aggregate/hvagent_sum'

module MCollective
  class Aggregate
    class Hvagent_average < Hvagent_sum
      def default_format
        "Average of #{@result[:output]}: %f"
      end

      def summarize
        @result[:value] = @counted.zero? ? nil : @result[:value].to_f / @counted
        result_class(:numeric).new(@result, @aggregate_format, @action)
      end
    end
  end
end
