import { writeFileSync, writeSync } from 'node:fs';
import type { RequestDispatcher } from '../dispatch/dispatcher.js';
import { errorReply } from '../core/reply.js';
import { holdWarnings } from '../core/warnings.js';
import { readRequestFile, type BoundedText } from './bounded-input.js';

// MCollective 2.12 "actions in external scripts" (docs/reference/protocols.md §1): `<cmd> <request> <reply>`
// with MCOLLECTIVE_REQUEST_FILE/MCOLLECTIVE_REPLY_FILE. The reply file is the flat data
// object; a failure is exit code 1..5 with ONE line on stderr, which becomes statusmsg.
// stderr is written synchronously: the process.stderr stream costs start-up time.

type Env = Record<string, string | undefined>;

export async function runMcollective(env: Env, args: readonly string[], dispatcher: RequestDispatcher): Promise<number> {
  const requestFile = env.MCOLLECTIVE_REQUEST_FILE ?? args[0];
  const replyFile = env.MCOLLECTIVE_REPLY_FILE ?? args[1];
  if (!requestFile || !replyFile) {
    writeSync(2, 'hvagent: MCOLLECTIVE_REQUEST_FILE and MCOLLECTIVE_REPLY_FILE must be set\n');
    return 1;
  }
  let read: BoundedText;
  try {
    read = readRequestFile(requestFile);
  } catch (error) {
    writeSync(2, `Cannot read request file: ${(error as Error).message}\n`);
    return 1;
  }
  // The runner takes the first line of stderr as the status message: warnings come after it.
  const writeWarnings = holdWarnings();
  const { reply } = 'text' in read ? await dispatcher.handleText(read.text, 'mcollective') : { reply: errorReply(read.tooLarge) };
  writeFileSync(replyFile, JSON.stringify(reply.data));
  // The runner takes the first stderr line as the status message: warnings come after it.
  if (reply.statuscode !== 0) writeSync(2, `${oneLine(reply.statusmsg)}\n`);
  writeWarnings();
  const auditWarning = dispatcher.auditWarning();
  if (auditWarning) writeSync(2, `${auditWarning}\n`);
  await dispatcher.settle();
  return reply.statuscode;
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').slice(0, 4000);
}
