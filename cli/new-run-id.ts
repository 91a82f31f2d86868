// The protocol's default run id: run-<epoch ms>-<random>. Chosen by the client, so creating the
// run can be retried without ever making two.
import { randomBytes } from 'node:crypto';

export function newRunId(now = Date.now()): string {
  return `run-${now}-${randomBytes(6).toString('base64url').replace(/[-_]/g, 'x')}`;
}
