import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answerServer, withServer } from './adapter/server.js';
import type { AgentRegistry } from './agents/contract.js';
import { refusalSettings } from './config/refusal.js';
import type { HvConfig } from './config/schema.js';
import { createRequestDispatcher } from './dispatch/front.js';

/**
 * The warm-up's first step (scripts/loader.cjs writes main's code cache right after it):
 * one request refused by validation, run as main runs one, through the server socket's
 * check and Choria's entry. Nothing else of main has run by then, so its cache holds what a
 * refusal compiles and no more: each function in a cache costs every request that loads it.
 * Main holds this file (lazily) because importing the rest of the warm-up (warm-up.ts, in
 * the actions piece) would first evaluate main's modules the dispatcher shares.
 */
export async function warmRefusal(agents: () => Promise<AgentRegistry>): Promise<void> {
  // Not node:os's tmpdir(): main would then load node:os on every request.
  const scratch = mkdtempSync(join(process.env.TMPDIR || '/tmp', 'hvagent-warmup-'));
  try {
    const request = join(scratch, 'request');
    const choriaConfig = join(scratch, 'choria.cfg');
    writeFileSync(request, JSON.stringify({ agent: 'host', action: 'info', requestid: 'warmup', data: { '~': 1 } }));
    // Choria's config names a server socket that does not exist, so the request stays here.
    writeFileSync(choriaConfig, `socket = ${join(scratch, 'hvagent.sock')}\n`);
    const hvagentConfig = join(scratch, 'hvagent.yaml');
    writeFileSync(hvagentConfig, '# as packaged: comments only\n');
    const env = { CHORIA_EXTERNAL_PROTOCOL: 'io.choria.mcorpc.external.v1.rpc_request', CHORIA_EXTERNAL_REQUEST: request, CHORIA_EXTERNAL_REPLY: join(scratch, 'reply'), CHORIA_EXTERNAL_CONFIG: choriaConfig, HVAGENT_CONFIG: hvagentConfig };
    // The refusal's audit line is written as a request's is, so that main's cache holds that
    // code too (~0.3 M instructions a request no longer compiles), but to a file in the
    // scratch directory: the settings are read as a refusal reads them, from this
    // environment, and only the file is changed. A refusal never loads the dispatcher, so
    // the settings are all it reads of the configuration.
    const settings = async () => {
      const read = await refusalSettings(env);
      return { ...read, audit: { ...read.audit, file: join(scratch, 'audit.log') } } as unknown as HvConfig;
    };
    await answerServer(env, [], await withServer(createRequestDispatcher({ agents, config: settings }), [], env));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
