// The event log of one run on disk: segment files of JSON Lines named by the seq of their first
// record (`000000000001.jsonl`). Every record is one line that starts with `{"id":"…","seq":…`, so
// a run's id set and byte offsets can be rebuilt without decoding records.
import { closeSync, openSync, readdirSync, readSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { IdIndex, hashIdBytes } from './id-index.ts';
import { readFileLines, type FileLines } from './read-file-lines.ts';
import { RecordOffsets } from './record-offsets.ts';
import { scanLines } from './scan-lines.ts';
import { seqOfServerEventId } from './server-event-id.ts';

export interface Segment {
  firstSeq: number;
  path: string;
  /** Bytes of whole records in the file. */
  bytes: number;
  /** Byte offset of each record, index = seq - firstSeq; NO_RECORD where damage left none. */
  offsets: RecordOffsets;
}

export interface RunIndex {
  segments: Segment[];
  /**
   * Producer ids (not those the server made), by hash: see id-index.ts. Only a write needs them,
   * so they are loaded when a run is first written to, not when it is read.
   */
  ids?: IdIndex;
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
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
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
  /** Bytes after the last whole line of the last segment (a torn write, or damage). */
  tornBytes: number;
  /** Records found, in all segments. */
  records: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const ID_PREFIX_BYTES = Buffer.from(ID_PREFIX);
const SEQ_FIELD_BYTES = Buffer.from(SEQ_FIELD);
/** Where a server-made id (server-event-id.ts) has its version digit, "8". */
const SERVER_ID_LENGTH = 36;
const SERVER_ID_VERSION_AT = 14;
const SERVER_ID_VERSION = 0x38;

/**
 * Reads every segment of a run (`firstSeqs`, or all there are) to rebuild its offsets, and with
 * `withIds` its id set, a chunk at a time and without decoding records: a line is a record when it
 * has the shape `{"id":"…","seq":N,…}` and its seq follows the one before (see scanRecords, whose
 * rules these are). It never changes a file: a damaged line is skipped (its seq left as a hole)
 * and reported to the caller. A segment file that is gone is passed over.
 */
export function loadRunIndex(
  dir: string,
  firstSeqs: number[] | undefined,
  withIds: boolean,
): LoadedIndex {
  const ids = withIds ? new IdIndex() : undefined;
  const segments: Segment[] = [];
  const damaged: LoadedIndex['damaged'] = [];
  let tornBytes = 0;
  let records = 0;
  for (const firstSeq of firstSeqs ?? listSegments(dir)) {
    const path = segmentPath(dir, firstSeq);
    const offsets = new RecordOffsets();
    let previous = firstSeq - 1;
    let skipped = 0;
    const end = readFileLinesIfAny(path, (bytes, start, newline, fileOffset) => {
      const record = recordAt(bytes, start, newline);
      const follows =
        record !== undefined &&
        record.seq > previous &&
        (record.seq === previous + 1 || skipped > 0);
      if (!follows) {
        skipped++;
        damaged.push({ path, offset: fileOffset });
        return;
      }
      previous = record.seq;
      skipped = 0;
      while (offsets.length < record.seq - firstSeq) offsets.push(NO_RECORD);
      offsets.push(fileOffset);
      records++;
      if (ids && record.idHash !== undefined) ids.add(record.idHash, record.seq);
    });
    if (end === undefined) continue;
    tornBytes = end.tornBytes;
    segments.push({ firstSeq, path, bytes: end.end, offsets });
  }
  return { segments, ids, damaged, tornBytes, records };
}

/** readFileLines, or undefined when the file is gone. */
function readFileLinesIfAny(
  path: string,
  onLine: Parameters<typeof readFileLines>[1],
): FileLines | undefined {
  try {
    return readFileLines(path, onLine);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The seq of the record in bytes [start, newline), and the hash of its producer id (undefined for
 * an id the server made for this seq, or one that is not a valid JSON string); undefined when
 * the line does not have a record's shape.
 */
function recordAt(
  bytes: Buffer,
  start: number,
  newline: number,
): { seq: number; idHash: number | undefined } | undefined {
  if (newline - start < ID_PREFIX_BYTES.length || bytes[newline - 1] !== CLOSE_BRACE)
    return undefined;
  if (!startsWith(bytes, start, ID_PREFIX_BYTES)) return undefined;
  const idStart = start + ID_PREFIX_BYTES.length;
  let idEnd = -1;
  let plain = true;
  for (let i = idStart; i < newline; i++) {
    const c = bytes[i]!;
    if (c === BACKSLASH) {
      plain = false;
      i++;
    } else if (c === QUOTE) {
      idEnd = i;
      break;
    } else if (c < 0x20) plain = false;
  }
  if (idEnd === -1 || !startsWith(bytes, idEnd + 1, SEQ_FIELD_BYTES)) return undefined;
  const from = idEnd + 1 + SEQ_FIELD_BYTES.length;
  let seq = 0;
  let i = from;
  for (; i < newline; i++) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
  }
  if (i === from || i - from >= 16 || bytes[i] !== COMMA) return undefined;
  return { seq, idHash: producerIdHash(bytes, idStart, idEnd, seq, plain) };
}

function producerIdHash(
  bytes: Buffer,
  idStart: number,
  idEnd: number,
  seq: number,
  plain: boolean,
): number | undefined {
  if (!plain) {
    // Escapes or raw control characters: indexed only if the id is a valid JSON string.
    try {
      JSON.parse(bytes.toString('utf8', idStart - 1, idEnd + 1));
    } catch {
      return undefined;
    }
  } else if (
    idEnd - idStart === SERVER_ID_LENGTH &&
    bytes[idStart + SERVER_ID_VERSION_AT] === SERVER_ID_VERSION &&
    seqOfServerEventId(bytes.toString('latin1', idStart, idEnd)) === seq
  ) {
    // An id the server made for this very seq is found through the seq; see server-event-id.ts.
    return undefined;
  }
  return hashIdBytes(bytes, idStart, idEnd);
}

function startsWith(bytes: Buffer, at: number, prefix: Buffer): boolean {
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
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
    while (a <= b && offsets.at(a) === NO_RECORD) a++;
    while (b >= a && offsets.at(b) === NO_RECORD) b--;
    if (a > b) continue;
    let next = b + 1;
    while (next < offsets.length && offsets.at(next) === NO_RECORD) next++;
    const start = offsets.at(a);
    let end = next < offsets.length ? offsets.at(next) : segment.bytes;
    const whole = b;
    // Over the budget: end at the last record that fits, keeping the first whatever its size.
    while (b > a && end - start > budget) {
      end = offsets.at(b);
      b--;
      while (b > a && offsets.at(b) === NO_RECORD) b--;
    }
    const buffer = readBytes(segment.path, start, end - start, LINE_READ_BUFFER);
    for (let i = a; i <= b; i++) {
      if (offsets.at(i) === NO_RECORD) continue;
      const lineStart = offsets.at(i) - start;
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
