// Watches a server under load from the outside: every PROBE_EVERY_MS, how long GET /health takes,
// the subscribers and buffered bytes it reports, and the server's RSS read from /proc. The probe
// waits for each answer before the next, so a frozen server shows as one long answer, not a pile
// of them; a failed answer is a sample too (subscribers -1), never an exception.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Health } from '../../shared/types.ts';
import { http } from './control-http.ts';
import { rssBytes } from './proc-stats.ts';
import type { BenchServer } from './servers.ts';

const PROBE_EVERY_MS = 100;

export interface ProbeSample {
  /** Date.now() when the request was sent. */
  at: number;
  healthMs: number;
  /** /health's streams.subscribers, or -1 when it did not answer 200. */
  subscribers: number;
  /** /health's streams.maxBufferedBytes: the most one stream holds unsent. */
  bufferedBytes: number;
  rssBytes: number;
}

export interface ServerProbe {
  samples: ProbeSample[];
  /** Resolves once `subscribers` is at most `count`, or false after `timeoutMs`. */
  until(count: number, timeoutMs: number): Promise<boolean>;
  /** The samples so far; no more are taken. */
  stop(): ProbeSample[];
}

async function askHealth(
  server: BenchServer,
): Promise<Pick<ProbeSample, 'healthMs' | 'subscribers' | 'bufferedBytes'>> {
  const started = performance.now();
  try {
    const answer = await http('GET', `${server.url}/health`);
    if (answer.status === 200) {
      const { streams } = JSON.parse(answer.text) as Health;
      return {
        healthMs: answer.ms,
        subscribers: streams.subscribers,
        bufferedBytes: streams.maxBufferedBytes,
      };
    }
  } catch {
    // Counted below as an answer that did not come.
  }
  return { healthMs: performance.now() - started, subscribers: -1, bufferedBytes: NaN };
}

/** The server's RSS, or NaN once it has exited. */
function rssOf(pid: number): number {
  try {
    return rssBytes(pid);
  } catch {
    return NaN;
  }
}

export function probeServer(server: BenchServer): ServerProbe {
  const samples: ProbeSample[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const at = Date.now();
      samples.push({ at, ...(await askHealth(server)), rssBytes: rssOf(server.pid) });
      await sleep(Math.max(0, at + PROBE_EVERY_MS - Date.now()));
    }
  })();
  return {
    samples,
    async until(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const last = samples.at(-1);
        if (last && last.subscribers >= 0 && last.subscribers <= count) return true;
        if (Date.now() >= deadline) return false;
        await sleep(PROBE_EVERY_MS);
      }
    },
    // An answer still on its way is not waited for: a server that froze must not freeze the bench.
    stop() {
      stopped = true;
      return [...samples];
    },
  };
}
