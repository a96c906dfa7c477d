import { writeFileSync, writeSync } from 'node:fs';
import type { RequestDispatcher } from '../dispatch/dispatcher.js';
import { HvError } from '../core/errors.js';
import { errorReply, type Reply } from '../core/reply.js';
import { isActivated } from './activation.js';
import { readRequestFile } from './bounded-input.js';

// Choria external agent (docs/reference/protocols.md §3): dispatch on CHORIA_EXTERNAL_PROTOCOL, never
// on argv[3] (always …rpc_request, even for activation). The environment holds only
// PATH and CHORIA_EXTERNAL_*. A reply is always {statuscode, statusmsg, data} with exit 0:
// a non-zero exit would replace our message with a generic one.

export const RPC_REQUEST = 'io.choria.mcorpc.external.v1.rpc_request';
export const ACTIVATION_REQUEST = 'io.choria.mcorpc.external.v1.activation_request';

type Env = Record<string, string | undefined>;

export async function runChoria(env: Env, dispatcher: RequestDispatcher): Promise<number> {
  const requestFile = env.CHORIA_EXTERNAL_REQUEST;
  const replyFile = env.CHORIA_EXTERNAL_REPLY;
  if (!requestFile || !replyFile) {
    writeSync(2, 'hvagent: CHORIA_EXTERNAL_REQUEST and CHORIA_EXTERNAL_REPLY must be set\n');
    return 1;
  }
  switch (env.CHORIA_EXTERNAL_PROTOCOL) {
    case ACTIVATION_REQUEST: {
      writeFileSync(replyFile, JSON.stringify({ activate: await activationFor(requestFile) }));
      return 0;
    }
    case RPC_REQUEST: {
      writeFileSync(replyFile, JSON.stringify(await answer(requestFile, dispatcher, env.CHORIA_EXTERNAL_FACTS)));
      // Choria logs the agent's stderr; the reply file is the protocol.
      const auditWarning = dispatcher.auditWarning();
      if (auditWarning) writeSync(2, `${auditWarning}\n`);
      await dispatcher.settle();
      return 0;
    }
    default:
      writeSync(2, `hvagent: unsupported CHORIA_EXTERNAL_PROTOCOL ${env.CHORIA_EXTERNAL_PROTOCOL}\n`);
      return 1;
  }
}

/** Always a reply: a request file that cannot be read, or is too large, is a well-formed error. */
async function answer(requestFile: string, dispatcher: RequestDispatcher, factsFile: string | undefined): Promise<Reply> {
  let read;
  try {
    read = readRequestFile(requestFile);
  } catch (error) {
    return errorReply(new HvError('REQUEST_INVALID', `Cannot read the request file ${requestFile}: ${(error as Error).message}`));
  }
  if (!('text' in read)) {
    const refused = errorReply(read.tooLarge);
    await dispatcher.recordRefusal('choria', refused);
    return refused;
  }
  return (await dispatcher.handleText(read.text, 'choria', factsFile)).reply;
}

async function activationFor(requestFile: string): Promise<boolean> {
  try {
    const read = readRequestFile(requestFile);
    if (!('text' in read)) return false;
    const { agent } = JSON.parse(read.text) as { agent?: unknown };
    return typeof agent === 'string' && (await isActivated(agent));
  } catch {
    return false;
  }
}
