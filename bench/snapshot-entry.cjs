// The entry of the trial V8 start-up snapshot that bench/startup-snapshot.sh builds
// (`node --snapshot-blob BLOB --build-snapshot bench/snapshot-entry.cjs`): a measurement, not
// how hvagent starts (docs/PERFORMANCE.md, P1). A snapshot's entry may require only Node's
// builtins, so it reads the built executable (scripts/loader.cjs) itself and evaluates it,
// which runs main, then has it evaluate the DDL pieces named in HVAGENT_SNAPSHOT_DDL and,
// with HVAGENT_SNAPSHOT_ACTIONS=1, the command line's and the actions piece, before the heap is written. With HVAGENT_SNAPSHOT_WARM=1 one refused
// request runs first, so its functions are compiled in the heap. Main hands over its run
// (Symbol.for('hvagent.snapshot')), which the deserialised process calls. Run the blob with
// one argument before the agent's own (`node --snapshot-blob BLOB - vm list`): Node puts a
// snapshot's arguments from argv[1], where main expects its script.
//
// Held from build time: the dist directory (HVAGENT_SNAPSHOT_DIST), as the loader's own place.
// Pieces loaded later are compiled through their code caches, as the loader does.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { compileFunction } = require('node:vm');
const { startupSnapshot } = require('node:v8');

const dist = process.env.HVAGENT_SNAPSHOT_DIST;
const executable = join(dist, 'hvagent.cjs');
let run;
let warmRefusal;
globalThis[Symbol.for('hvagent.snapshot')] = (taken, warm) => {
  run = taken;
  warmRefusal = warm;
};
const loader = readFileSync(executable, 'utf8').replace(/^#!.*/, '');
const module = { exports: {} };
compileFunction(loader, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: executable })(module.exports, require, module, executable, dist);
const { piece } = globalThis[Symbol.for('hvagent.files')];
for (const name of (process.env.HVAGENT_SNAPSHOT_DDL ?? '').split(',').filter(Boolean)) piece(`hvagent.ddl.${name}.cjs`);
if (process.env.HVAGENT_SNAPSHOT_ACTIONS === '1') for (const name of ['hvagent.cli.cjs', 'hvagent.actions.cjs']) piece(name);
if (process.env.HVAGENT_SNAPSHOT_WARM === '1') warmRefusal();
startupSnapshot.setDeserializeMainFunction(() => run());
