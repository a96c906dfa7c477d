import type { RequestDispatcher } from '../dispatch/dispatcher.js';
import { serverSocket } from './server-socket.js';

type Env = Record<string, string | undefined>;

/**
 * Answers one request from a server protocol; undefined when the environment names none.
 * The server protocols never touch process.stdout/stderr (their lazy getters load Node's
 * whole stream stack, a few ms of start-up on every request), so they exit at once.
 */
export async function answerServer(env: Env, args: readonly string[], dispatcher: RequestDispatcher): Promise<number | undefined> {
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

/**
 * The dispatcher a request goes to: `hvagent serve`'s where it runs (its socket exists),
 * else the local one. `rpc --stream` is a long-lived process of its own and stays local.
 * The warm-up runs this too, so that main's code cache holds it.
 */
export async function withServer(local: RequestDispatcher, args: readonly string[], env: Env): Promise<RequestDispatcher> {
  const socket = args[0] === 'rpc' && args.includes('--stream') ? undefined : serverSocket(env);
  if (!socket) return local;
  const { handoffDispatcher } = await import('./handoff.js');
  return handoffDispatcher(socket, local);
}
