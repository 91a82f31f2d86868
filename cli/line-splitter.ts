// Cuts a child's output into lines at "\n" (dropping a "\r" before it), whatever arrives: chunks
// that end mid-line or mid-character, lines longer than any sane bound, bytes that are not UTF-8.
// A line longer than the bound comes out in pieces, each but the last marked `partial`; a piece
// never ends inside a UTF-8 character, so every piece decodes on its own.

/** The longest line an output event carries; longer lines are split into pieces this size. */
export const MAX_LINE_BYTES = 64 * 1024;

export interface LinePiece {
  bytes: Buffer;
  /** The line goes on in the next piece. */
  partial: boolean;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** The largest cut at or before `at` that does not split a UTF-8 character. */
function utf8Boundary(bytes: Buffer, at: number): number {
  let cut = at;
  // Back off over UTF-8 continuation bytes (top bits 10) to the start of the character.
  while (cut > at - 4 && cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut === 0 || at - cut >= 4 ? at : cut;
}

/** Splits bytes into pieces of at most `maxBytes`, all but the last marked partial. */
export function cutLine(bytes: Buffer, maxBytes: number, partial = false): LinePiece[] {
  const pieces: LinePiece[] = [];
  let start = 0;
  while (bytes.length - start > maxBytes) {
    const cut = utf8Boundary(bytes, start + maxBytes);
    pieces.push({ bytes: bytes.subarray(start, cut), partial: true });
    start = cut;
  }
  pieces.push({ bytes: bytes.subarray(start), partial });
  return pieces;
}

export class LineSplitter {
  readonly maxBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxBytes = MAX_LINE_BYTES) {
    this.maxBytes = maxBytes;
  }

  push(chunk: Buffer): LinePiece[] {
    const pieces: LinePiece[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) break;
      let line = this.#take(chunk.subarray(start, newline));
      if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) line = line.subarray(0, -1);
      pieces.push(...cutLine(line, this.maxBytes));
      start = newline + 1;
    }
    if (start < chunk.length) {
      this.#pending.push(chunk.subarray(start));
      this.#pendingBytes += chunk.length - start;
      // An endless line is sent as it comes, a piece at a time, instead of piling up.
      if (this.#pendingBytes > this.maxBytes) {
        const cut = cutLine(this.#take(Buffer.alloc(0)), this.maxBytes);
        const rest = cut.pop()!;
        pieces.push(...cut);
        this.#pending = [rest.bytes];
        this.#pendingBytes = rest.bytes.length;
      }
    }
    return pieces;
  }

  /** What is left once the stream has ended: a last line without a newline. */
  end(): LinePiece[] {
    if (this.#pendingBytes === 0) return [];
    return cutLine(this.#take(Buffer.alloc(0)), this.maxBytes);
  }

  #take(tail: Buffer): Buffer {
    const line = this.#pending.length === 0 ? tail : Buffer.concat([...this.#pending, tail]);
    this.#pending = [];
    this.#pendingBytes = 0;
    return line;
  }
}
