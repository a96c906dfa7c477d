import { runCli } from './adapter/cli.js';
import { toHvError } from './core/errors.js';

// One executable, every protocol: the environment says who is calling.
//   CHORIA_EXTERNAL_PROTOCOL set  → Choria external agent
//   MCOLLECTIVE_REQUEST_FILE set  → MCollective 2.12 external script (via our Ruby runner)
//   otherwise                     → command line (including `rpc` for stdio JSON)

async function main(): Promise<number> {
  const env = process.env;
  const args = process.argv.slice(2);
  if (env.CHORIA_EXTERNAL_PROTOCOL) {
    const { runChoria } = await import('./adapter/choria.js');
    return runChoria(env);
  }
  if (env.MCOLLECTIVE_REQUEST_FILE) {
    const { runMcollective } = await import('./adapter/mcollective.js');
    return runMcollective(env, args);
  }
  return runCli(args);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const failure = toHvError(error);
    process.stderr.write(`hvagent: ${failure.message}\n`);
    process.exit(failure.statuscode || 1);
  },
);
