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

/** Exits as soon as the replies are out: a pipe may still hold unwritten output. */
function exitWhenFlushed(code: number): void {
  const pending = [process.stdout, process.stderr].filter((stream) => stream.writableLength > 0);
  if (pending.length === 0) process.exit(code);
  Promise.all(pending.map((stream) => new Promise((resolve) => stream.once('drain', resolve)))).then(() => process.exit(code));
}

main().then(exitWhenFlushed, (error: unknown) => {
  const failure = toHvError(error);
  process.stderr.write(`hvagent: ${failure.message}\n`);
  exitWhenFlushed(failure.statuscode || 1);
});
