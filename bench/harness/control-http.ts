// HTTP for the bench's own control requests (node:http, no keep-alive, so timings are plain), and
// the few API calls every scenario makes.
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { runApiPath } from '../../shared/run-url.ts';

export interface Answer {
  status: number;
  text: string;
  ms: number;
}

export function http(method: string, url: string, body?: unknown): Promise<Answer> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': payload.length }
          : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text, ms: performance.now() - started }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A 2xx answer's JSON body; anything else throws, naming the request and the answer. */
export async function json<T>(method: string, url: string, body?: unknown): Promise<T> {
  const answer = await http(method, url, body);
  if (answer.status < 200 || answer.status >= 300) {
    throw new Error(`${method} ${url} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
  return JSON.parse(answer.text) as T;
}

export interface RunSummary {
  id: string;
  status: string;
  eventCount: number;
  lastSeq: number;
}

export async function createRuns(base: string, ids: string[]): Promise<void> {
  for (const id of ids) await json('POST', `${base}/api/runs`, { id, title: `bench ${id}` });
}

export function runSummary(base: string, id: string): Promise<RunSummary> {
  return json<RunSummary>('GET', `${base}${runApiPath(id)}`);
}

export async function eventCounts(base: string, ids: string[]): Promise<number> {
  let total = 0;
  for (const id of ids) total += (await runSummary(base, id)).eventCount;
  return total;
}
