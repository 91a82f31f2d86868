// Keeps a chatty process from flooding the server without losing a line: up to
// MAX_LINES_PER_SECOND lines a second (with a burst of as many) go out one event per line; past
// that, consecutive lines of the same stream are merged into one event that records how many
// lines it holds (`merged`), flushed every MERGE_FLUSH_MS or once it holds MAX_MERGED_BYTES.
// Order is kept: a line of the other stream, or any other event, flushes what is being merged.

/** The sustained rate of one-line events; also the burst allowed before merging starts. */
export const MAX_LINES_PER_SECOND = 200;
export const MERGE_FLUSH_MS = 250;
export const MAX_MERGED_BYTES = 64 * 1024;

export type OutputStream = 'stdout' | 'stderr';

export interface OutputLine {
  stream: OutputStream;
  /** The line number in its stream (pieces of one long line share it). */
  line: number;
  text: string;
  /** The line goes on in the next piece. */
  partial?: boolean;
}

export interface ThrottledLine extends OutputLine {
  /** How many lines (or pieces of a long line) this one event holds, when more than one. */
  merged?: number;
}

interface Merging {
  first: OutputLine;
  texts: string[];
  count: number;
  bytes: number;
  partial: boolean;
}

export class OutputThrottle {
  readonly #emit: (line: ThrottledLine) => void;
  readonly #rate: number;
  #tokens: number;
  #refilledAt = performance.now();
  #merging: Merging | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(emit: (line: ThrottledLine) => void, linesPerSecond = MAX_LINES_PER_SECOND) {
    this.#emit = emit;
    this.#rate = linesPerSecond;
    this.#tokens = linesPerSecond;
  }

  push(line: OutputLine): void {
    this.#refill();
    if (this.#merging && this.#merging.first.stream !== line.stream) this.flush();
    const merging = this.#merging;
    if (merging) {
      // A piece of a long line carries on the same line; a new line starts after a newline.
      merging.texts.push(merging.partial ? line.text : `\n${line.text}`);
      merging.count += 1;
      merging.bytes += Buffer.byteLength(line.text) + 1;
      merging.partial = line.partial === true;
      if (merging.bytes >= MAX_MERGED_BYTES) this.flush();
      return;
    }
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#emit(line);
      return;
    }
    this.#merging = {
      first: line,
      texts: [line.text],
      count: 1,
      bytes: Buffer.byteLength(line.text),
      partial: line.partial === true,
    };
    this.#timer = setTimeout(() => this.flush(), MERGE_FLUSH_MS);
    this.#timer.unref();
  }

  /** Sends what is being merged now (before any other event, and at the end). */
  flush(): void {
    const merging = this.#merging;
    if (!merging) return;
    this.#merging = undefined;
    clearTimeout(this.#timer);
    this.#tokens = Math.max(0, this.#tokens - 1);
    const { stream, line } = merging.first;
    const event: ThrottledLine = { stream, line, text: merging.texts.join('') };
    if (merging.partial) event.partial = true;
    if (merging.count > 1) event.merged = merging.count;
    this.#emit(event);
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(
      this.#rate,
      this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate,
    );
    this.#refilledAt = now;
  }
}
