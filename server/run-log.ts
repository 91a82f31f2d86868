// The persisted run index: runs.jsonl, an append-only log of run snapshots. The last record of a
// run wins. Each snapshot says how much of the run's event log it covers, so start-up only parses
// events written after the last checkpoint.
import {
  closeSync,
  fsync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Run } from '../shared/types.ts';
import { truncateFile } from './event-files.ts';
import { readFileLines } from './read-file-lines.ts';
import { SharedStrings } from './shared-strings.ts';
import { writeAll } from './write-all.ts';

export interface RunRecord {
  op: 'put';
  run: Run;
  /** First seq still stored (retention may have dropped earlier segments). */
  firstSeq: number;
  /** First seq of the segment being appended to; names its file. */
  active: number;
  /** Bytes of the active segment this snapshot's counters cover. */
  covered: number;
  /** Bytes of all the run's segments at that point. */
  bytes: number;
}

export interface DeleteRecord {
  op: 'del';
  id: string;
}

export type LogRecord = RunRecord | DeleteRecord;

export class RunLog {
  readonly path: string;
  #dataDir: string;
  #fd: number;
  #records: number;
  /** Bytes of whole records in the file: where a refused append is cut back to. */
  #size: number;
  /** An append failed and cutting it back failed too; the next append cuts first. */
  #torn = false;

  constructor(dataDir: string, records: number) {
    this.#dataDir = dataDir;
    this.path = join(dataDir, 'runs.jsonl');
    this.#fd = openSync(this.path, 'a');
    this.#size = fstatSync(this.#fd).size;
    this.#records = records;
  }

  /**
   * Every run's last record made into `T` by `entry`, in creation order. A damaged line is skipped
   * (its offset returned for the caller to report) and what follows it kept; a torn last line is
   * cut off the file.
   */
  static read<T>(
    dataDir: string,
    warn: (message: string) => void,
    entry: (record: RunRecord) => T,
  ): { runs: Map<string, T>; deleted: Set<string>; lines: number; damaged: number[] } {
    const path = join(dataDir, 'runs.jsonl');
    // One map from the start: with 100,000 runs, a second one would cost ~7 MB more at start-up.
    const runs = new Map<string, T>();
    const deleted = new Set<string>();
    if (!existsSync(path)) return { runs, deleted, lines: 0, damaged: [] };
    const shared = new SharedStrings();
    const damaged: number[] = [];
    let lines = 0;
    const scan = readFileLines(path, (bytes, start, newline, offset) => {
      let record: LogRecord;
      try {
        record = JSON.parse(bytes.toString('utf8', start, newline)) as LogRecord;
      } catch {
        damaged.push(offset);
        return;
      }
      if (record.op === 'del' && typeof record.id === 'string') {
        runs.delete(record.id);
        deleted.add(record.id);
      } else if (record.op === 'put' && typeof record.run?.id === 'string') {
        shared.shareIn(record.run);
        runs.set(record.run.id, entry(record));
        deleted.delete(record.run.id);
      } else {
        damaged.push(offset);
        return;
      }
      lines++;
    });
    if (scan.tornBytes > 0) {
      warn(`cut ${scan.tornBytes} bytes of a torn record off ${path}`);
      truncateFile(path, scan.end);
    }
    return { runs, deleted, lines, damaged };
  }

  /** Replaces the log with one record per run, atomically (write, fsync, rename). */
  static rewrite(dataDir: string, records: LogRecord[]): void {
    const path = join(dataDir, 'runs.jsonl');
    const temp = `${path}.tmp`;
    const fd = openSync(temp, 'w');
    try {
      writeAll(fd, Buffer.from(records.map((record) => JSON.stringify(record) + '\n').join('')));
      fsyncSync(fd);
    } catch (error) {
      // The old log is untouched until the rename, so a failed rewrite only leaves a temp file.
      closeSync(fd);
      rmSync(temp, { force: true });
      throw error;
    }
    closeSync(fd);
    renameSync(temp, path);
  }

  append(record: LogRecord): void {
    this.appendMany([record]);
  }

  /**
   * Appends whole records or nothing: a write the disk takes only part of is cut back before the
   * error is thrown, so no half record is ever followed by acknowledged ones.
   */
  appendMany(records: LogRecord[]): void {
    if (records.length === 0) return;
    const bytes = Buffer.from(records.map((record) => JSON.stringify(record) + '\n').join(''));
    if (this.#torn) this.#cutBack();
    try {
      writeAll(this.#fd, bytes);
    } catch (error) {
      try {
        this.#cutBack();
      } catch {
        this.#torn = true;
      }
      throw error;
    }
    this.#size += bytes.length;
    this.#records += records.length;
  }

  #cutBack(): void {
    ftruncateSync(this.#fd, this.#size);
    this.#torn = false;
  }

  sync(): void {
    fsyncSync(this.#fd);
  }

  syncAsync(done: () => void): void {
    fsync(this.#fd, () => done());
  }

  /** Bytes of whole records in the file. */
  get size(): number {
    return this.#size;
  }

  /** Records appended since the log was last written whole. */
  get records(): number {
    return this.#records;
  }

  /** Rewrites the log with one record per run and appends to the new file from then on. */
  compact(records: LogRecord[]): void {
    RunLog.rewrite(this.#dataDir, records);
    closeSync(this.#fd);
    this.#fd = openSync(this.path, 'a');
    this.#size = fstatSync(this.#fd).size;
    this.#torn = false;
    this.#records = records.length;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
