// Long operations (migration, copies, unpacking) say how far they are through a reporter
// handed to them; dispatch turns the reports into job records (docs/JOBS.md).

export interface ProgressUpdate {
  /** A short word for the step: `copying`, `migrating`, `defining`… */
  phase: string;
  /** 0–100 when the step knows it. */
  percent?: number;
  /** A line for a person. */
  message?: string;
}

export type ProgressReporter = (update: ProgressUpdate) => void;
