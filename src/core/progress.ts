import type { HvConfig } from '../config/schema.js';
import type { RpcRequest } from './request.js';

// Long operations (migration, volume copies) say how far they are. A reporter is handed
// to every action; what it records is what a later jobs API will expose.

export interface ProgressUpdate {
  /** A short word for the step: `copying`, `migrating`, `defining`… */
  phase: string;
  /** 0–100 when the step knows it. */
  percent?: number;
  /** A line for a person. */
  message?: string;
}

export type ProgressReporter = (update: ProgressUpdate) => void;

/** The reporter for one request. */
export function progressFor(_request: RpcRequest, _config: HvConfig): ProgressReporter {
  return () => undefined;
}
