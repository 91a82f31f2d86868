// Reads one of the server's SSE streams with fetch (EventSource cannot send the key header).
// After any drop it reconnects with Last-Event-ID, so the server replays exactly what was missed;
// while the server is away it backs off, and it reports its state so the page can say so plainly.
import { STREAM_SILENCE_LIMIT_MS } from '../shared/constants.ts';
import { SseParser, type SseMessage } from '../shared/sse.ts';
import { authHeaders } from './api-client.ts';
import { promptForKey, storedKey } from './key-prompt.ts';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface StreamStatus {
  state: StreamState;
  /** When reconnecting: how long until the next attempt. */
  retryInMs?: number;
  /** Why the last connection ended or failed. */
  reason?: string;
}

export interface LiveStreamOptions {
  path: string;
  /** The cursor to resume from; sent as Last-Event-ID on every connect. */
  lastEventId?: () => number | undefined;
  onMessage(message: SseMessage): void;
  /** Called once per successful connect, before its first message. */
  onOpen?(): void;
  onStatus?(status: StreamStatus): void;
}

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 10_000;

export class LiveStream {
  #options: LiveStreamOptions;
  #controller: AbortController | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  status: StreamStatus = { state: 'connecting' };

  constructor(options: LiveStreamOptions) {
    this.#options = options;
    void this.#run();
  }

  close(): void {
    this.#closed = true;
    this.#controller?.abort();
    this.#wake?.();
  }

  /** Skip the rest of a backoff wait, e.g. when the tab becomes visible or the network returns. */
  retryNow(): void {
    this.#wake?.();
  }

  #setStatus(status: StreamStatus): void {
    this.status = status;
    this.#options.onStatus?.(status);
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      this.#setStatus({ state: attempt === 0 ? 'connecting' : 'reconnecting' });
      let reason: string;
      try {
        reason = await this.#connect(() => (attempt = 0));
      } catch (error) {
        reason = this.#closed ? 'closed' : describe(error);
      }
      if (this.#closed) break;
      if (reason === 'not found') {
        this.#setStatus({ state: 'ended', reason: 'the run no longer exists' });
        return;
      }
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** attempt);
      attempt += 1;
      this.#setStatus({ state: 'reconnecting', retryInMs: delay, reason });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay * (0.8 + Math.random() * 0.4));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    this.#setStatus({ state: 'ended', reason: 'closed' });
  }

  /** One connection; resolves with why it ended. */
  async #connect(onLive: () => void): Promise<string> {
    const controller = new AbortController();
    this.#controller = controller;
    const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
    const cursor = this.#options.lastEventId?.();
    if (cursor !== undefined) headers['last-event-id'] = String(cursor);
    const response = await fetch(this.#options.path, {
      headers,
      signal: controller.signal,
      cache: 'no-store',
    });
    if (response.status === 401) {
      await response.body?.cancel();
      await promptForKey(storedKey() !== undefined);
      return 'unauthorized';
    }
    if (response.status === 404) return 'not found';
    if (!response.ok || !response.body) return `server answered ${response.status}`;
    onLive();
    this.#options.onOpen?.();
    this.#setStatus({ state: 'live' });

    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    let silence = setTimeout(() => controller.abort(), STREAM_SILENCE_LIMIT_MS);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'the server closed the stream';
        clearTimeout(silence);
        silence = setTimeout(() => controller.abort(), STREAM_SILENCE_LIMIT_MS);
        for (const message of parser.push(decoder.decode(value, { stream: true }))) {
          if (this.#closed) return 'closed';
          this.#options.onMessage(message);
        }
      }
    } catch (error) {
      return describe(error);
    } finally {
      clearTimeout(silence);
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof DOMException && error.name === 'AbortError') return 'no data for too long';
  return error instanceof Error ? error.message : String(error);
}
