import { HvError } from '../core/errors.js';
import { ToolError } from '../process/failure.js';
import { runProcess } from '../process/run.js';
import type { ImageFormat, StorageOpContext } from './types.js';

// qemu-img with the format always explicit (`-f raw` included: a raw image is never probed,
// since a guest could write a qcow2 header into it).

export async function qemuImg(args: readonly string[], ctx: StorageOpContext, what: string): Promise<string> {
  try {
    return (await runProcess('qemu-img', args, { signal: ctx.signal })).stdout;
  } catch (error) {
    throw explain(error, what);
  }
}

/** `qemu-img convert -p`, its progress reported as phase `copying`. */
export async function qemuImgConvert(args: readonly string[], ctx: StorageOpContext, what: string): Promise<void> {
  let last = 0;
  ctx.progress?.({ phase: 'copying', percent: 0, message: what });
  try {
    await runProcess('qemu-img', ['convert', '-p', ...args], {
      signal: ctx.signal,
      onStdout: (chunk) => {
        // "    (12.34/100%)\r" once per percent or so.
        for (const match of chunk.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)) {
          const percent = Math.floor(Number(match[1]));
          if (percent > last) {
            last = percent;
            ctx.progress?.({ phase: 'copying', percent, message: what });
          }
        }
      },
    });
  } catch (error) {
    throw explain(error, what);
  }
}

function explain(error: unknown, what: string): unknown {
  if (!(error instanceof ToolError) || error.cancelled) return error;
  if (/Failed to get "?(write|shared "?write)"? lock|Is another process using the image/i.test(error.stderr)) {
    return new HvError('CONFLICT', `Cannot ${what}: a running VM has the image open`, { command: 'qemu-img' }, { cause: error });
  }
  return new HvError('COMMAND_FAILED', `Cannot ${what}: ${error.stderr || error.message}`, error.details, { cause: error });
}

export function sizeArgument(sizeMb: number): string {
  return `${sizeMb}M`;
}

export const formatArgs = (format: ImageFormat): string[] => ['-f', format];
