import sumDdl from '../../mcollective/aggregate/hvagent_sum.ddl';
import sumPlugin from '../../mcollective/aggregate/hvagent_sum.rb';
import averageDdl from '../../mcollective/aggregate/hvagent_average.ddl';
import averagePlugin from '../../mcollective/aggregate/hvagent_average.rb';
import applicationDdl from '../../mcollective/application/hvagent.ddl';
import application from '../../mcollective/application/hvagent.rb';
import dataDdl from '../../mcollective/data/hvagent_data.ddl';
import dataPlugin from '../../mcollective/data/hvagent_data.rb';
import runner from '../../mcollective/util/hvagent_runner.rb';

/**
 * The hand-written MCollective plugins `hvagent install mcollective DIR` puts beside the
 * generated agents, by path under DIR/mcollective: the runner the stubs call, the
 * aggregates that skip failed replies, the hvagent data plugin (discovery by capacity and
 * by VM) and the `mco hvagent` application (docs/FLEET.md).
 */
export const MCOLLECTIVE_PLUGINS: Readonly<Record<string, string>> = {
  'util/hvagent_runner.rb': runner,
  'aggregate/hvagent_sum.rb': sumPlugin,
  'aggregate/hvagent_sum.ddl': sumDdl,
  'aggregate/hvagent_average.rb': averagePlugin,
  'aggregate/hvagent_average.ddl': averageDdl,
  'data/hvagent_data.rb': dataPlugin,
  'data/hvagent_data.ddl': dataDdl,
  'application/hvagent.rb': application,
  'application/hvagent.ddl': applicationDdl,
};
