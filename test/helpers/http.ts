// Small HTTP helpers over fetch for black-box tests.
import { SseParser, type SseMessage } from '../../shared/sse.ts';

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function api<T = any>(
  base: string,
  path: string,
  init: {
    method?: string;
    body?: unknown;
    headers?: Record<string, string>;
    raw?: string | Uint8Array;
  } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | Uint8Array | undefined = init.raw;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(base + path, {
    method: init.method ?? (body ? 'POST' : 'GET'),
    headers,
    body: body as RequestInit['body'],
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export interface SseClient {
  status: number;
  headers: Headers;
  /** Resolves with the next `count` messages (waits for them). */
  take(count: number): Promise<SseMessage[]>;
  /** Raw text received so far (comments included). */
  raw(): string;
  close(): void;
}

export async function openSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const parser = new SseParser();
  const queue: SseMessage[] = [];
  let raw = '';
  let wake: (() => void) | undefined;
  let ended = false;
  if (response.body) {
    (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          const text = decoder.decode(chunk, { stream: true });
          raw += text;
          queue.push(...parser.push(text));
          wake?.();
        }
      } catch {
        // aborted
      }
      ended = true;
      wake?.();
    })();
  }
  return {
    status: response.status,
    headers: response.headers,
    raw: () => raw,
    async take(count) {
      while (queue.length < count) {
        if (ended) throw new Error(`stream ended after ${queue.length} of ${count} messages`);
        await new Promise<void>((resolve) => (wake = resolve));
      }
      return queue.splice(0, count);
    },
    close: () => controller.abort(),
  };
}
