// The event log of one run on disk: segment files of JSON Lines named by the seq of their first
// record (`000000000001.jsonl`). Every record is one line that starts with `{"id":"…","seq":…`, so
// a run's id set and byte offsets can be rebuilt without parsing whole records.
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  ftruncateSync,
} from 'node:fs';
import { join } from 'node:path';
import { scanLines } from './scan-lines.ts';
import { seqOfServerEventId } from './server-event-id.ts';

export interface Segment {
  firstSeq: number;
  path: string;
  /** Bytes of whole records in the file. */
  bytes: number;
  /** Byte offset of each record, index = seq - firstSeq; NO_RECORD where damage left none. */
  offsets: number[];
}

export interface RunIndex {
  segments: Segment[];
  ids: Map<string, number>;
}

/** An offset standing for a seq whose record is missing or damaged. */
export const NO_RECORD = -1;

const ID_PREFIX = '{"id":"';
const SEQ_FIELD = ',"seq":';

export function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(12, '0')}.jsonl`;
}

export function segmentPath(dir: string, firstSeq: number): string {
  return join(dir, segmentName(firstSeq));
}

/** Index of the quote that closes the id at the start of a stored record; -1 if there is none. */
function idEnd(line: string): number {
  if (!line.startsWith(ID_PREFIX)) return -1;
  for (let i = ID_PREFIX.length; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i;
  }
  return -1;
}

/** The producer id at the start of a stored record, or undefined when the line is not one of ours. */
export function extractId(line: string): string | undefined {
  const end = idEnd(line);
  if (end === -1) return undefined;
  try {
    return JSON.parse(line.slice(ID_PREFIX.length - 1, end + 1)) as string;
  } catch {
    return undefined;
  }
}

/** The seq that follows the id at the start of a stored record, or undefined. */
function extractSeq(line: string): number | undefined {
  const end = idEnd(line);
  if (end === -1 || !line.startsWith(SEQ_FIELD, end + 1)) return undefined;
  const from = end + 1 + SEQ_FIELD.length;
  let seq = 0;
  let i = from;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
  }
  return i > from && i - from < 16 && line.charCodeAt(i) === 0x2c ? seq : undefined;
}

export function listSegments(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^\d{12}\.jsonl$/.test(name))
    .map((name) => Number(name.slice(0, 12)))
    .sort((a, b) => a - b);
}

export interface ScanResult {
  /** Records that were accepted, in file order, with their seqs and file offsets. */
  lines: string[];
  seqs: number[];
  offsets: number[];
  /** Where the last whole line ends. */
  end: number;
  /** Bytes after `end` that were not a whole line (a torn write). */
  tornBytes: number;
  /** File offsets of lines that are not records of this log (damage); they are skipped. */
  damaged: number[];
}

/**
 * Splits `buffer` (the file from `base` on) into records, skipping damaged lines. Seqs must follow
 * `afterSeq` one by one; only after a damaged line may they jump (the damage hid the ones between).
 * With `parseAll`, each record must also be valid JSON.
 */
export function scanRecords(
  buffer: Buffer,
  base: number,
  afterSeq: number,
  parseAll: boolean,
): ScanResult {
  const lines: string[] = [];
  const seqs: number[] = [];
  const offsets: number[] = [];
  let previous = afterSeq;
  let skipped = 0;
  const scan = scanLines(buffer, (line, start) => {
    const seq = line.endsWith('}') ? extractSeq(line) : undefined;
    const follows = seq !== undefined && seq > previous && (seq === previous + 1 || skipped > 0);
    if (!follows || (parseAll && !isJson(line))) {
      skipped++;
      throw new Error('not a record');
    }
    previous = seq;
    skipped = 0;
    lines.push(line);
    seqs.push(seq);
    offsets.push(base + start);
  });
  return {
    lines,
    seqs,
    offsets,
    end: base + scan.end,
    tornBytes: scan.tornBytes,
    damaged: scan.damaged.map((offset) => base + offset),
  };
}

export function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** Reads `length` bytes at `start` (fewer if the file is shorter). */
/**
 * Reads `length` bytes at `start`, into `into` when it is large enough (the bytes are then good
 * only until the next read into it) or else into a new buffer.
 */
export function readBytes(path: string, start: number, length: number, into?: Buffer): Buffer {
  const buffer = into && into.length >= length ? into : Buffer.allocUnsafe(length);
  const fd = openSync(path, 'r');
  try {
    let read = 0;
    while (read < length) {
      const n = readSync(fd, buffer, read, length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** The file from byte `from` to its end; empty when it is missing or shorter. */
export function readFrom(path: string, from: number): Buffer {
  if (!existsSync(path)) return Buffer.alloc(0);
  const size = statSync(path).size;
  return size <= from ? Buffer.alloc(0) : readBytes(path, from, size - from);
}

/** Cuts a file back to `length` bytes (a torn tail, or a failed write). */
export function truncateFile(path: string, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, length);
  } finally {
    closeSync(fd);
  }
}

export interface LoadedIndex extends RunIndex {
  /** Lines that are not records, by file: skipped, for the caller to report. */
  damaged: Array<{ path: string; offset: number }>;
}

/**
 * Reads every segment of a run to rebuild its offsets and id set. It never changes a file: a
 * damaged line is skipped (its seq left as a hole) and reported to the caller.
 */
export function loadRunIndex(dir: string): LoadedIndex {
  const ids = new Map<string, number>();
  const segments: Segment[] = [];
  const damaged: LoadedIndex['damaged'] = [];
  for (const firstSeq of listSegments(dir)) {
    const path = segmentPath(dir, firstSeq);
    const scan = scanRecords(readFileSync(path), 0, firstSeq - 1, false);
    const offsets: number[] = [];
    scan.lines.forEach((line, i) => {
      const seq = scan.seqs[i]!;
      while (offsets.length < seq - firstSeq) offsets.push(NO_RECORD);
      offsets.push(scan.offsets[i]!);
      const id = extractId(line);
      // An id the server made for this very seq is found through the seq; see server-event-id.ts.
      if (id !== undefined && seqOfServerEventId(id) !== seq) ids.set(id, seq);
    });
    for (const offset of scan.damaged) damaged.push({ path, offset });
    segments.push({ firstSeq, path, bytes: scan.end, offsets });
  }
  return { segments, ids, damaged };
}

/** Records found by seq: `lines[i]` is the record of `seqs[i]`; seqs with no record are absent. */
export interface RecordLines {
  seqs: number[];
  lines: string[];
}

/**
 * Where readRecordLines reads ranges up to this size: it copies every line out before it returns,
 * so one buffer serves every read, and hundreds of subscribers replaying small batches at once
 * leave no trail of freed buffers behind (500 replays stalled at once: RSS 170 MB -> 139 MB).
 */
const LINE_READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * Raw record lines for seqs [from, from + count), read from the segments that hold them. Past
 * `maxBytes` of records the read stops early (after one record at least, however large);
 * `through` is the last seq it covered.
 */
export function readRecordLines(
  index: RunIndex,
  from: number,
  count: number,
  maxBytes = Infinity,
): RecordLines & { through: number } {
  const seqs: number[] = [];
  const lines: string[] = [];
  const last = from + count - 1;
  let budget = maxBytes;
  for (const segment of index.segments) {
    const { offsets } = segment;
    const segmentLast = segment.firstSeq + offsets.length - 1;
    if (segmentLast < from) continue;
    if (segment.firstSeq > last) break;
    let a = Math.max(from, segment.firstSeq) - segment.firstSeq;
    let b = Math.min(last, segmentLast) - segment.firstSeq;
    while (a <= b && offsets[a] === NO_RECORD) a++;
    while (b >= a && offsets[b] === NO_RECORD) b--;
    if (a > b) continue;
    let next = b + 1;
    while (next < offsets.length && offsets[next] === NO_RECORD) next++;
    const start = offsets[a]!;
    let end = next < offsets.length ? offsets[next]! : segment.bytes;
    const whole = b;
    // Over the budget: end at the last record that fits, keeping the first whatever its size.
    while (b > a && end - start > budget) {
      end = offsets[b]!;
      b--;
      while (b > a && offsets[b] === NO_RECORD) b--;
    }
    const buffer = readBytes(segment.path, start, end - start, LINE_READ_BUFFER);
    for (let i = a; i <= b; i++) {
      if (offsets[i] === NO_RECORD) continue;
      const lineStart = offsets[i]! - start;
      const newline = buffer.indexOf(0x0a, lineStart);
      if (newline === -1) break;
      seqs.push(segment.firstSeq + i);
      lines.push(buffer.toString('utf8', lineStart, newline));
    }
    budget -= end - start;
    if (b < whole) return { seqs, lines, through: segment.firstSeq + b };
    if (budget <= 0) return { seqs, lines, through: Math.min(last, segmentLast) };
  }
  return { seqs, lines, through: last };
}
