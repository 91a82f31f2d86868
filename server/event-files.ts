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
  /** Byte offset of each record, index = seq - firstSeq. */
  offsets: number[];
}

export interface RunIndex {
  segments: Segment[];
  ids: Map<string, number>;
}

const ID_PREFIX = '{"id":"';

export function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(12, '0')}.jsonl`;
}

export function segmentPath(dir: string, firstSeq: number): string {
  return join(dir, segmentName(firstSeq));
}

/** The producer id at the start of a stored record, or undefined when the line is not one of ours. */
export function extractId(line: string): string | undefined {
  if (!line.startsWith(ID_PREFIX)) return undefined;
  for (let i = ID_PREFIX.length; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) {
      try {
        return JSON.parse(line.slice(ID_PREFIX.length - 1, i + 1)) as string;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function listSegments(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^\d{12}\.jsonl$/.test(name))
    .map((name) => Number(name.slice(0, 12)))
    .sort((a, b) => a - b);
}

export interface ScanResult {
  /** Records that parsed, in file order. */
  lines: string[];
  /** Start offset of each line, relative to the file. */
  offsets: number[];
  /** Where the last whole record ends. */
  end: number;
  /** Bytes after `end` that were not a whole record (a torn write). */
  tornBytes: number;
}

/** Splits `buffer` (the file from `base` on) into whole records; stops at the first bad one. */
export function scanRecords(buffer: Buffer, base: number, parseAll: boolean): ScanResult {
  const lines: string[] = [];
  const offsets: number[] = [];
  const scan = scanLines(buffer, (line, start) => {
    if (!line.startsWith(ID_PREFIX) || !line.endsWith('}')) throw new Error('not a record');
    if (parseAll) JSON.parse(line);
    lines.push(line);
    offsets.push(base + start);
  });
  return { lines, offsets, end: base + scan.end, tornBytes: scan.tornBytes };
}

/** Reads `length` bytes at `start` (fewer if the file is shorter). */
export function readBytes(path: string, start: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
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

/** Reads every segment of a run to rebuild its offsets and id set (the last record is fully parsed). */
export function loadRunIndex(dir: string, warn: (message: string) => void): RunIndex {
  const ids = new Map<string, number>();
  const segments: Segment[] = [];
  for (const firstSeq of listSegments(dir)) {
    const path = segmentPath(dir, firstSeq);
    const buffer = readFileSync(path);
    const scan = scanRecords(buffer, 0, false);
    if (scan.tornBytes > 0) {
      warn(`cut ${scan.tornBytes} bytes of a torn record off ${path}`);
      truncateFile(path, scan.end);
    }
    scan.lines.forEach((line, i) => {
      const id = extractId(line);
      // An id the server made for this very seq is found through the seq; see server-event-id.ts.
      if (id !== undefined && seqOfServerEventId(id) !== firstSeq + i) ids.set(id, firstSeq + i);
    });
    segments.push({ firstSeq, path, bytes: scan.end, offsets: scan.offsets });
  }
  return { segments, ids };
}

/** Raw record lines for seqs [from, from + count), read from the segments that hold them. */
export function readRecordLines(index: RunIndex, from: number, count: number): string[] {
  const lines: string[] = [];
  let seq = from;
  const last = from + count - 1;
  for (const segment of index.segments) {
    const segmentLast = segment.firstSeq + segment.offsets.length - 1;
    if (segmentLast < seq) continue;
    if (segment.firstSeq > last) break;
    const a = Math.max(seq, segment.firstSeq) - segment.firstSeq;
    const b = Math.min(last, segmentLast) - segment.firstSeq;
    const start = segment.offsets[a]!;
    const end = b + 1 < segment.offsets.length ? segment.offsets[b + 1]! : segment.bytes;
    const buffer = readBytes(segment.path, start, end - start);
    const text = buffer.toString('utf8');
    let pos = 0;
    while (pos < text.length) {
      const newline = text.indexOf('\n', pos);
      if (newline === -1) break;
      lines.push(text.slice(pos, newline));
      pos = newline + 1;
    }
    seq = segmentLast + 1;
    if (seq > last) break;
  }
  return lines;
}
