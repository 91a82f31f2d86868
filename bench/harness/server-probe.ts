// Watches a server under load from the outside: every PROBE_EVERY_MS, how long GET /health takes,
// how many subscribers it reports, and the server's RSS read from /proc. The probe waits for each
// answer before the next, so a frozen server shows as one long answer, not a pile of them.
import { setTimeout as sleep } from 'node:timers/promises';
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
  rssBytes: number;
}

export interface ServerProbe {
  samples: ProbeSample[];
  /** Resolves once `subscribers` is at most `count`, or false after `timeoutMs`. */
  until(count: number, timeoutMs: number): Promise<boolean>;
  stop(): Promise<ProbeSample[]>;
}

export function probeServer(server: BenchServer): ServerProbe {
  const samples: ProbeSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const answer = await http('GET', `${server.url}/health`);
      const subscribers =
        answer.status === 200
          ? (JSON.parse(answer.text) as { streams: { subscribers: number } }).streams.subscribers
          : -1;
      samples.push({ at, healthMs: answer.ms, subscribers, rssBytes: rssBytes(server.pid) });
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
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}
