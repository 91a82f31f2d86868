// The protocol's default run id: run-<epoch ms>-<random>. A client chooses it before creating the
// run, so creating it can be retried without ever making two.
import { randomBytes } from 'node:crypto';

/** Random characters after the time: 6 bytes, base64url with `-` and `_` made letters. */
const RANDOM_BYTES = 6;

export function newRunId(now = Date.now()): string {
  return `run-${now}-${randomBytes(RANDOM_BYTES).toString('base64url').replace(/[-_]/g, 'x')}`;
}
