import type { FileHandle } from 'node:fs/promises';

// An import's file reaches the disk while it is written, not after: a template is on disk
// before the manifest names it (a crash must never leave the catalogue naming a file that
// is incomplete), and the disk, not the copy, is what an import of a large image waits for
// (docs/PERFORMANCE.md, P9). The kernel would start writing a 1 GiB copy back only after
// 30 s or once dirty pages pass 10 % of memory; a single fdatasync at the end would then
// find all of it still to write. So fdatasync runs back to back in the thread pool from the
// first byte, each one writing what the copy added meanwhile. Node has no
// sync_file_range(2); fdatasync is the call that both starts the writeback and waits for it.

/**
 * A flush that found (almost) nothing to write waits this long before the next: the writer
 * is behind (a slow download), and every fdatasync that finds the size changed commits the
 * journal. finish() ends the wait at once.
 */
const IDLE_FLUSH_MS = 20;
const IDLE_PAUSE_MS = 200;

export interface Flushing {
  /** Flushes once more, at once, and resolves when everything written to the file is on disk. */
  finish(): Promise<void>;
  /** Stops flushing (the file is to be removed): resolves once no flush is running. */
  stop(): Promise<void>;
}

export function keepFlushing(handle: FileHandle): Flushing {
  let running = true;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      await handle.datasync();
      if (running && Date.now() - started < IDLE_FLUSH_MS) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, IDLE_PAUSE_MS).unref();
        });
      }
    }
  })();
  loop.catch(() => undefined); // reported by finish(), which awaits it

  const halt = () => {
    running = false;
    wake?.();
  };
  let finished: Promise<void> | undefined;
  return {
    finish: () =>
      (finished ??= (async () => {
        halt();
        await loop;
        await handle.datasync();
      })()),
    stop: async () => {
      halt();
      await loop.catch(() => undefined);
    },
  };
}
