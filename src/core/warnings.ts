import { writeSync } from 'node:fs';
import type { HvError } from './errors.js';

// What went wrong beside a request's work without failing it (its progress could not be
// recorded). A warning never goes to stdout, where replies are, and never ahead of the
// line MCollective's runner takes as the status message: an adapter that has such a line
// holds the warnings back until it is written (holdWarnings).

let held: HvError[] | undefined;

export function warn(warning: HvError): void {
  if (held) held.push(warning);
  else say(warning);
}

/** From now on warnings are kept; the function returned writes them (to stderr) and stops keeping them. */
export function holdWarnings(): () => void {
  held ??= [];
  return () => {
    const pending = held ?? [];
    held = undefined;
    for (const warning of pending) say(warning);
  };
}

/** One line on stderr; a warning that cannot be written (a full or closed pipe) is lost, never a failure. */
function say(warning: HvError): void {
  try {
    writeSync(2, `hvagent: warning [${warning.code}]: ${warning.message.replace(/\s*\n\s*/g, ' ')}\n`);
  } catch {
    // nowhere else to say it
  }
}
