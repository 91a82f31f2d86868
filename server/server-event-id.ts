// The ids the server gives events that arrive without one: UUIDs (version 8, RFC 9562) whose first
// 48 bits are the event's seq and whose other 74 bits are random. A repeated id is then found by
// reading the record at that seq, with no per-event entry in the run's id index.
import { randomBytes } from 'node:crypto';

const POOL_BYTES = 4096;
const RANDOM_HEX_PER_ID = 19;
/** 2^48: the seq takes the first 48 bits of the id. */
const SEQ_WIDTH = 0x1000000000000;
const SERVER_ID = /^([0-9a-f]{8})-([0-9a-f]{4})-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Random hex digits, refilled as they are used up (one hex conversion per pool, not per id). */
let pool = '';
let used = 0;

export function serverEventId(seq: number): string {
  if (used + RANDOM_HEX_PER_ID > pool.length) {
    pool = randomBytes(POOL_BYTES).toString('hex');
    used = 0;
  }
  const random = pool.slice(used, used + RANDOM_HEX_PER_ID);
  used += RANDOM_HEX_PER_ID;
  // 2^48 + seq has a fixed 13 hex digits; the leading 1 is dropped below.
  const seqHex = (SEQ_WIDTH + seq).toString(16);
  const variant = ((parseInt(random[3]!, 16) & 0x3) | 0x8).toString(16);
  return (
    `${seqHex.slice(1, 9)}-${seqHex.slice(9, 13)}-8${random.slice(0, 3)}-` +
    `${variant}${random.slice(4, 7)}-${random.slice(7, 19)}`
  );
}

/** The seq a server-made id names, or undefined for any other id. */
export function seqOfServerEventId(id: string): number | undefined {
  const match = SERVER_ID.exec(id);
  return match ? parseInt(match[1]! + match[2]!, 16) : undefined;
}
