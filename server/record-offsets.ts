// The byte offsets of a segment's records, index = seq - the segment's first seq, in an Int32Array
// that grows as records are appended: 4 bytes a record, where a JS array of numbers takes 8 and
// more while it grows. A segment is at most SEGMENT_MAX_BYTES plus one write, far below 2^31.

const INITIAL_CAPACITY = 16;

export class RecordOffsets {
  #offsets: Int32Array;
  #length = 0;

  constructor(capacity = INITIAL_CAPACITY) {
    this.#offsets = new Int32Array(Math.max(capacity, INITIAL_CAPACITY));
  }

  get length(): number {
    return this.#length;
  }

  /** Memory held, in bytes. */
  get bytes(): number {
    return this.#offsets.byteLength;
  }

  at(i: number): number {
    return this.#offsets[i]!;
  }

  set(i: number, offset: number): void {
    this.#offsets[i] = offset;
  }

  push(offset: number): void {
    if (this.#length === this.#offsets.length) {
      const larger = new Int32Array(this.#offsets.length * 2);
      larger.set(this.#offsets);
      this.#offsets = larger;
    }
    this.#offsets[this.#length++] = offset;
  }
}
