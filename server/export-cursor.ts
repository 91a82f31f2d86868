// The OTLP export cursor: per run, the last seq whose spans a collector has acknowledged (or
// refused for good), and whether the run's root span went out. An append-only file in the data
// directory (otlp-cursor.jsonl; the last line of a run wins), rewritten compactly at start, so a
// restart resumes where the last acknowledged batch ended. A torn last line is ignored.
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CURSOR_FILE = 'otlp-cursor.jsonl';

export interface RunCursor {
  /** Spans of events up to this seq are sent. */
  seq: number;
  /** The run's root span went out (it goes once the run has ended). */
  root: boolean;
}

interface CursorLine {
  run: string;
  seq: number;
  root?: boolean;
}

export class ExportCursor {
  readonly path: string;
  readonly runs = new Map<string, RunCursor>();
  /** False when the file did not exist: export was never on for this data directory. */
  readonly existed: boolean;

  constructor(dataDir: string) {
    this.path = join(dataDir, CURSOR_FILE);
    this.existed = existsSync(this.path);
    if (!this.existed) return;
    for (const text of readFileSync(this.path, 'utf8').split('\n')) {
      if (text === '') continue;
      let line: CursorLine;
      try {
        line = JSON.parse(text) as CursorLine;
      } catch {
        continue;
      }
      if (typeof line.run !== 'string' || !Number.isInteger(line.seq)) continue;
      if (line.seq === 0 && line.root !== true) this.runs.delete(line.run);
      else this.runs.set(line.run, { seq: line.seq, root: line.root === true });
    }
  }

  /** Rewrites the file with one line per run still in `keep`, atomically. */
  compact(keep: (runId: string) => boolean): void {
    for (const runId of this.runs.keys()) if (!keep(runId)) this.runs.delete(runId);
    const temp = `${this.path}.tmp`;
    writeFileSync(temp, [...this.runs].map(([run, cursor]) => lineOf(run, cursor)).join(''));
    renameSync(temp, this.path);
  }

  /** Records the runs' new positions with one append. */
  advance(updates: Map<string, RunCursor>): void {
    if (updates.size === 0) return;
    let text = '';
    for (const [run, cursor] of updates) {
      this.runs.set(run, cursor);
      text += lineOf(run, cursor);
    }
    appendFileSync(this.path, text);
  }

  /** A deleted run: a run made later under its id starts from nothing. */
  forget(runId: string): void {
    if (!this.runs.delete(runId)) return;
    try {
      appendFileSync(this.path, lineOf(runId, { seq: 0, root: false }));
    } catch {
      // A delete never fails for this; a cursor left behind is clamped to the new run's end.
    }
  }
}

function lineOf(run: string, cursor: RunCursor): string {
  const line: CursorLine = { run, seq: cursor.seq };
  if (cursor.root) line.root = true;
  return `${JSON.stringify(line)}\n`;
}
