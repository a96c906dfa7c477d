import { readFileSync, writeFileSync, writeSync } from 'node:fs';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { isActivated } from './activation.js';

// Choria external agent (docs/reference/protocols.md §3): dispatch on CHORIA_EXTERNAL_PROTOCOL, never
// on argv[3] (always …rpc_request, even for activation). The environment holds only
// PATH and CHORIA_EXTERNAL_*. A reply is always {statuscode, statusmsg, data} with exit 0:
// a non-zero exit would replace our message with a generic one.

export const RPC_REQUEST = 'io.choria.mcorpc.external.v1.rpc_request';
export const ACTIVATION_REQUEST = 'io.choria.mcorpc.external.v1.activation_request';

type Env = Record<string, string | undefined>;

export async function runChoria(env: Env, dispatcher: Dispatcher): Promise<number> {
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
      const { reply } = await dispatcher.handleText(readFileSync(requestFile, 'utf8'), 'choria', env.CHORIA_EXTERNAL_FACTS);
      writeFileSync(replyFile, JSON.stringify(reply));
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

async function activationFor(requestFile: string): Promise<boolean> {
  try {
    const { agent } = JSON.parse(readFileSync(requestFile, 'utf8')) as { agent?: unknown };
    return typeof agent === 'string' && (await isActivated(agent));
  } catch {
    return false;
  }
}
