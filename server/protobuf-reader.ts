// Reads the protobuf wire format (varints, fixed 32/64-bit, length-delimited) from a buffer, with
// every read checked against the end of the message it is in. Anything malformed throws a
// ValidationError that says what and where, so a bad body is a 400, never a crash or a hang.
import { invalid } from '../shared/errors.ts';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH = 2;
export const WIRE_FIXED32 = 5;

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32'];
/** A varint holds at most 64 bits: ten bytes of seven. */
const MAX_VARINT_BYTES = 10;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ProtobufReader {
  readonly buffer: Buffer;
  pos: number;
  /** The end of the message being read; nested messages narrow it. */
  end: number;

  constructor(buffer: Buffer, start = 0, end = buffer.length) {
    this.buffer = buffer;
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  #truncated(what: string): never {
    throw invalid(`protobuf body is truncated: ${what} at byte ${this.pos} runs past the end`);
  }

  /** A varint as a number; exact up to 2^53, which covers lengths, tags, enums and counts. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.end) this.#truncated('a varint');
      const byte = this.buffer[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw invalid(
      `protobuf body has a varint longer than ${MAX_VARINT_BYTES} bytes at byte ${this.pos}`,
    );
  }

  /** A varint read as a signed 64-bit integer (int64), exactly. */
  int64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.end) this.#truncated('a varint');
      const byte = this.buffer[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    throw invalid(
      `protobuf body has a varint longer than ${MAX_VARINT_BYTES} bytes at byte ${this.pos}`,
    );
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) this.#truncated('a fixed64');
    const value = this.buffer.readBigUInt64LE(this.pos);
    this.pos += 8;
    return value;
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) this.#truncated('a fixed32');
    const value = this.buffer.readUInt32LE(this.pos);
    this.pos += 4;
    return value;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.#truncated('a double');
    const value = this.buffer.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  /** The start and end of a length-delimited field's bytes; the reader moves past them. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) this.#truncated(`a field of ${length} bytes`);
    this.pos = start + length;
    return [start, this.pos];
  }

  bytes(): Buffer {
    const [start, end] = this.span();
    return this.buffer.subarray(start, end);
  }

  hex(): string {
    const [start, end] = this.span();
    return this.buffer.toString('hex', start, end);
  }

  string(field: string): string {
    const [start, end] = this.span();
    const text = this.buffer.toString('utf8', start, end);
    // Buffer's decoder is fast but replaces bad bytes with U+FFFD; only then is the strict one asked.
    if (!text.includes('\ufffd')) return text;
    try {
      return utf8.decode(this.buffer.subarray(start, end));
    } catch {
      throw invalid(`protobuf field ${field} is not valid UTF-8`);
    }
  }

  /** A reader over the embedded message that starts here; this reader moves past it. */
  message(): ProtobufReader {
    const [start, end] = this.span();
    return new ProtobufReader(this.buffer, start, end);
  }

  /** Reads a tag: the field number and its wire type. */
  tag(): [number, number] {
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw invalid(`protobuf body has field number 0 at byte ${this.pos}`);
    return [field, key & 7];
  }

  /** Skips a field this decoder does not know, as protobuf requires. */
  skipField(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_FIXED64) this.fixed64();
    else if (wireType === WIRE_LENGTH) this.span();
    else if (wireType === WIRE_FIXED32) this.fixed32();
    else
      throw invalid(
        `protobuf body uses wire type ${wireType} (${wireName(wireType)}), which OTLP never does`,
      );
  }

  /** Throws unless a known field came with the wire type its declaration needs. */
  expect(wireType: number, wanted: number, field: string): void {
    if (wireType !== wanted) {
      throw invalid(
        `protobuf field ${field} must have wire type ${wanted} (${wireName(wanted)}); got ${wireType} (${wireName(wireType)})`,
      );
    }
  }
}

function wireName(wireType: number): string {
  return WIRE_NAMES[wireType] ?? 'invalid';
}
