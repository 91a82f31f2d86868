// Polling for a condition in black-box tests: no test asserts on time, it waits for what it expects.
import assert from 'node:assert/strict';

/** Generous, since a loaded CI machine is slow; only a failing test ever waits this long. */
export const WAIT_TIMEOUT_MS = 30_000;
const POLL_MS = 50;

/** Polls `check` until it returns a truthy value, and returns it; fails naming `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T): Promise<T> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
