/**
 * A virsh batch brackets every command with section markers:
 *
 *   echo -- MARK_i; echo --err -- MARK_i; <command i>; ... echo -- MARK_END; echo --err -- MARK_END
 *
 * virsh runs the commands in order on one connection, so each stream (stdout, stderr)
 * is cut independently at its marker lines: "MARK_i" on stdout, "error: MARK_i" on stderr
 * (virsh prefixes everything `echo --err` prints with "error: ").
 */

export interface BatchSection {
  readonly stdout: string;
  readonly stderr: string;
}

export interface SplitBatch {
  /** Sections for the commands whose closing marker was seen, in order. */
  readonly sections: readonly BatchSection[];
  /** False when virsh stopped before the end marker (crash, kill, parse error). */
  readonly complete: boolean;
}

export function stdoutMarkerLine(marker: string): string {
  return marker;
}

export function stderrMarkerLine(marker: string): string {
  return `error: ${marker}`;
}

/**
 * `markers` holds one marker per command followed by the end marker. Text printed before
 * the first marker (virsh connection warnings) belongs to no command and is dropped.
 */
export function splitBatchOutput(stdout: string, stderr: string, markers: readonly string[]): SplitBatch {
  const outPieces = cutAtMarkerLines(stdout, markers.map(stdoutMarkerLine));
  const errPieces = cutAtMarkerLines(stderr, markers.map(stderrMarkerLine));
  const count = Math.min(outPieces.length, errPieces.length);
  const sections: BatchSection[] = [];
  for (let i = 0; i < count; i += 1) {
    sections.push({
      // `echo --err` also writes an empty line to stdout, right after the stdout marker.
      stdout: stripOneLeadingNewline(outPieces[i] ?? ''),
      stderr: errPieces[i] ?? '',
    });
  }
  return { sections, complete: count === markers.length - 1 };
}

/** Text between consecutive marker lines; only pieces closed by the next marker count. */
function cutAtMarkerLines(text: string, markerLines: readonly string[]): string[] {
  const pieces: string[] = [];
  let pieceStart = -1;
  let cursor = 0;
  for (const line of markerLines) {
    const at = findLine(text, line, cursor);
    if (at < 0) break;
    if (pieceStart >= 0) pieces.push(text.slice(pieceStart, at));
    cursor = at + line.length + 1;
    pieceStart = cursor;
  }
  return pieces;
}

function findLine(text: string, line: string, from: number): number {
  let at = text.indexOf(`${line}\n`, from);
  while (at > 0 && text[at - 1] !== '\n') at = text.indexOf(`${line}\n`, at + 1);
  return at;
}

function stripOneLeadingNewline(text: string): string {
  return text.startsWith('\n') ? text.slice(1) : text;
}
