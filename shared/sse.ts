// Server-Sent Events framing, shared by the server (which writes it) and every client that reads it.
import { SSE_RETRY_MS } from './constants.ts';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
} as const;

export const SSE_PREAMBLE = `retry: ${SSE_RETRY_MS}\n: connected\n\n`;
export const SSE_HEARTBEAT = ': heartbeat\n\n';

/** The `event:` name that says retention removed events a client asked for: data `{firstSeq}`. */
export const SSE_TRUNCATED_EVENT = 'truncated';
/** What a message without an `event:` line is called (an ordinary event or run change). */
export const SSE_DEFAULT_EVENT = 'message';

/** One SSE message; `data` is JSON text on a single line (JSON.stringify never emits a newline). */
export function formatSse(data: string, id?: number, event?: string): string {
  let frame = '';
  if (event !== undefined) frame += `event: ${event}\n`;
  if (id !== undefined) frame += `id: ${id}\n`;
  return `${frame}data: ${data}\n\n`;
}

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** Incremental SSE parser: feed it chunks of text, get whole messages back. */
export class SseParser {
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #id: string | undefined;
  lastEventId: string | undefined;
  retryMs: number | undefined;

  push(chunk: string): SseMessage[] {
    this.#buffer += chunk;
    const messages: SseMessage[] = [];
    let start = 0;
    for (;;) {
      const newline = this.#buffer.indexOf('\n', start);
      if (newline === -1) break;
      let line = this.#buffer.slice(start, newline);
      start = newline + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const message = this.#line(line);
      if (message) messages.push(message);
    }
    this.#buffer = this.#buffer.slice(start);
    return messages;
  }

  #line(line: string): SseMessage | undefined {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = '';
        return undefined;
      }
      const message: SseMessage = {
        event: this.#event || SSE_DEFAULT_EVENT,
        data: this.#data.join('\n'),
      };
      if (this.#id !== undefined) message.id = this.#id;
      this.#data = [];
      this.#event = '';
      return message;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id') {
      this.#id = value;
      this.lastEventId = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}
