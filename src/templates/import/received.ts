import type { ProgressReporter } from '../../core/progress.js';
import type { Compression, ContentKind } from './sniff.js';

// What receiving a source into a part file is asked to do, and what it did (receive.ts,
// kernel-copy.ts).

export interface ReceiveOptions {
  /** Decompress gzip and xz on the way (images and ISOs); archives are kept compressed. */
  decompress: boolean;
  /** Refuses the content from what its head shows it is (throws), or accepts it. */
  check(kind: ContentKind): void;
  hashSource: boolean;
  /**
   * Nothing holds the part file open meanwhile (no flush loop, no hash read behind the copy):
   * a kernel copy may make the file anew (kernel-copy.ts).
   */
  alone: boolean;
  maxBytes: number;
  progress: ProgressReporter;
  signal: AbortSignal;
}

export interface Received {
  bytesIn: number;
  bytesStored: number;
  compression: Compression | undefined;
  /** SHA-256 of the source's bytes, when asked for. */
  sha256: string | undefined;
}
