// A run's producer ids, for recognising a retry: a hash table of 32-bit hashes of the ids, each
// with the seq of its record, in two typed arrays. It holds no id itself (a UUID as a JS string
// costs ~90 bytes with its Map entry; here an id costs 8–16 bytes), so a hit is only a candidate:
// the caller reads the record at that seq and compares its id. Ids are hashed as they are stored,
// the UTF-8 bytes of their JSON string (without the quotes), so the index can be rebuilt from a
// segment's bytes without decoding a single record.

const EMPTY = 0;
const INITIAL_SLOTS = 16;
/** The table doubles once it is this full; probes stay short. */
const MAX_LOAD = 0.5;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export class IdIndex {
  #hashes: Uint32Array;
  /** The seq of each slot's record; EMPTY (seqs start at 1) marks a free slot. */
  #seqs: Int32Array;
  #size = 0;

  constructor(expected = 0) {
    let slots = INITIAL_SLOTS;
    while (expected > slots * MAX_LOAD) slots *= 2;
    this.#hashes = new Uint32Array(slots);
    this.#seqs = new Int32Array(slots);
  }

  get size(): number {
    return this.#size;
  }

  /** Memory held by the table, in bytes. */
  get bytes(): number {
    return this.#hashes.byteLength + this.#seqs.byteLength;
  }

  add(hash: number, seq: number): void {
    if (this.#size + 1 > this.#seqs.length * MAX_LOAD) this.#grow();
    this.#put(hash, seq);
    this.#size++;
  }

  /** The seqs whose ids hash to `hash`, newest first; each must be checked against its record. */
  candidates(hash: number): number[] {
    const found: number[] = [];
    const mask = this.#seqs.length - 1;
    for (let slot = hash & mask; this.#seqs[slot] !== EMPTY; slot = (slot + 1) & mask) {
      if (this.#hashes[slot] === hash) found.push(this.#seqs[slot]!);
    }
    return found.sort((a, b) => b - a);
  }

  #put(hash: number, seq: number): void {
    const mask = this.#seqs.length - 1;
    let slot = hash & mask;
    while (this.#seqs[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.#hashes[slot] = hash;
    this.#seqs[slot] = seq;
  }

  #grow(): void {
    const hashes = this.#hashes;
    const seqs = this.#seqs;
    this.#hashes = new Uint32Array(hashes.length * 2);
    this.#seqs = new Int32Array(seqs.length * 2);
    for (let i = 0; i < seqs.length; i++) if (seqs[i] !== EMPTY) this.#put(hashes[i]!, seqs[i]!);
  }
}

/** FNV-1a over bytes [start, end) of `bytes`. */
export function hashIdBytes(bytes: Uint8Array, start: number, end: number): number {
  let hash = FNV_OFFSET;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
  return hash >>> 0;
}

/** The hash of `id` as hashIdBytes gives it for the id's stored bytes. */
export function hashId(id: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    // Anything JSON escapes or UTF-8 spells in more than one byte: hash the stored form instead.
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      const stored = Buffer.from(JSON.stringify(id).slice(1, -1));
      return hashIdBytes(stored, 0, stored.length);
    }
    hash = Math.imul(hash ^ c, FNV_PRIME);
  }
  return hash >>> 0;
}
