import type { Dispatcher } from '../dispatch/dispatcher.js';

type Env = Record<string, string | undefined>;

/**
 * Answers one request from a server protocol; undefined when the environment names none.
 * The server protocols never touch process.stdout/stderr (their lazy getters load Node's
 * whole stream stack, a few ms of start-up on every request), so they exit at once.
 */
export async function answerServer(env: Env, args: readonly string[], dispatcher: Dispatcher): Promise<number | undefined> {
  if (env.CHORIA_EXTERNAL_PROTOCOL) {
    const { runChoria } = await import('./choria.js');
    return runChoria(env, dispatcher);
  }
  if (env.MCOLLECTIVE_REQUEST_FILE) {
    const { runMcollective } = await import('./mcollective.js');
    return runMcollective(env, args, dispatcher);
  }
  return undefined;
}
