// One OTLP/HTTP JSON export request over node:http(s) with a kept-alive connection, and what its
// answer means for delivery: done, retry (after Retry-After when given), or refused for good.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { OTLP_JSON_TYPE } from '../shared/otlp.ts';

/** OTLP/HTTP's retryable answers; every other 4xx and 5xx must not be retried. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
/** An answer body is read up to this much (OTLP's recommended response limit). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export type PostOutcome =
  | { kind: 'sent'; rejectedSpans: number; errorMessage: string }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'refused'; reason: string };

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });

/** Retry-After as seconds or an HTTP date, in ms from now. */
export function retryAfterMs(header: string | undefined, nowMs = Date.now()): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function partialSuccess(body: string): { rejectedSpans: number; errorMessage: string } {
  try {
    const partial = (JSON.parse(body) as { partialSuccess?: Record<string, unknown> })
      ?.partialSuccess;
    const rejected = Number(partial?.rejectedSpans ?? 0);
    return {
      rejectedSpans: Number.isFinite(rejected) ? rejected : 0,
      errorMessage: typeof partial?.errorMessage === 'string' ? partial.errorMessage : '',
    };
  } catch {
    return { rejectedSpans: 0, errorMessage: '' };
  }
}

export function postOtlp(
  url: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostOutcome> {
  const secure = url.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  const payload = Buffer.from(body);
  return new Promise((resolve) => {
    const req = send(
      url,
      {
        method: 'POST',
        agent: secure ? httpsAgent : httpAgent,
        headers: {
          ...headers,
          'content-type': OTLP_JSON_TYPE,
          'content-length': payload.length,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
        });
        res.on('error', (error) => resolve({ kind: 'retry', reason: error.message }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          const detail = `${status} ${text.slice(0, 200)}`.trim();
          if (status >= 200 && status < 300) resolve({ kind: 'sent', ...partialSuccess(text) });
          else if (RETRYABLE_STATUSES.has(status))
            resolve({
              kind: 'retry',
              reason: `collector answered ${detail}`,
              retryAfterMs: retryAfterMs(res.headers['retry-after']),
            });
          else resolve({ kind: 'refused', reason: `collector answered ${detail}` });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    // A connection refused, reset or timed out is worth retrying, as OTLP says.
    req.on('error', (error) => resolve({ kind: 'retry', reason: error.message }));
    req.end(payload);
  });
}
