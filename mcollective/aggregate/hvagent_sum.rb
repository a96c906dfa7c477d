# Sum of a numeric output over the replies that carry one.
#
# MCollective's own sum adds every reply's value, and a failed reply (statuscode > 0: a
# host that failed, or one that lacks the VM asked for) carries each output as nil, so one
# such host used to turn the fleet total into "Could not compute summary". This sum skips
# anything that is not a number.
module MCollective
  class Aggregate
    class Hvagent_sum < Base
      def startup_hook
        @result[:value] = 0
        @result[:type] = :numeric
        @counted = 0
        @aggregate_format ||= default_format
      end

      def default_format
        "Sum of #{@result[:output]}: %f"
      end

      def process_result(value, reply)
        return unless value.is_a?(Numeric)

        @result[:value] += value
        @counted += 1
      end

      # No reply had a number: nothing to total (MCollective prints "No aggregate summary
      # could be computed"), rather than a misleading 0.
      def summarize
        @result[:value] = nil if @counted.zero?
        super
      end
    end
  end
end
