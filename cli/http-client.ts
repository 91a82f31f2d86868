// JSON over node:http / node:https with one keep-alive agent. `request` retries what a producer
// should retry (connection errors, 429, 5xx) with backoff for a bounded time; a rejected key ends
// at once; any other answer goes back to the caller.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { VERSION } from '../shared/constants.ts';
import { isRetryableStatus } from '../shared/retryable-status.ts';
import { backoffDelayMs, parseRetryAfterMs } from './backoff-delay.ts';
import { CliError } from './cli-error.ts';
import type { Connection } from './common-options.ts';
import { EXIT } from './exit-codes.ts';

/** A server that accepted the connection but never answers is treated like one that is down. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A command whose first request finds no server gives up this soon, whatever --retry-for says. */
export const FIRST_CONTACT_RETRY_MS = 5_000;

export interface HttpResponse<T = any> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T;
}

export interface RetryNotice {
  reason: string;
  retryForMs: number;
  attempt: number;
  delayMs: number;
}

export interface RequestOptions {
  /** How long to keep retrying a failing server, from its first failure. */
  retryForMs?: number;
  /** Extra request headers (e.g. Last-Event-ID). */
  headers?: Record<string, string>;
}

export class HttpClient {
  readonly baseUrl: string;
  readonly retryForMs: number;
  readonly #apiKey: string | undefined;
  readonly #agent: http.Agent;
  readonly #transport: typeof http | typeof https;
  readonly #onRetry: ((notice: RetryNotice) => void) | undefined;
  /** Closed by its command: what is still in flight was given up, not lost, so it is not retried. */
  #closed = false;

  constructor(connection: Connection, onRetry?: (notice: RetryNotice) => void) {
    this.baseUrl = connection.serverUrl;
    this.retryForMs = connection.retryForMs;
    this.#apiKey = connection.apiKey;
    this.#onRetry = onRetry;
    const secure = this.baseUrl.startsWith('https:');
    this.#transport = secure ? https : http;
    this.#agent = new this.#transport.Agent({ keepAlive: true });
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': `agent-ops/${VERSION}`,
      ...extra,
    };
    if (this.#apiKey !== undefined) headers['x-api-key'] = this.#apiKey;
    return headers;
  }

  /** Opens a request and resolves with the raw response (for streams). One attempt. */
  open(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
    agent: http.Agent | false = this.#agent,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = this.#headers(extraHeaders);
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const request = this.#transport.request(
        this.baseUrl + path,
        { method, headers, agent, ...(signal ? { signal } : {}) },
        resolve,
      );
      request.on('error', reject);
      if (agent !== false) {
        request.setTimeout(REQUEST_TIMEOUT_MS, () =>
          request.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })),
        );
      }
      request.end(payload);
    });
  }

  /** One attempt, body read and parsed as JSON (undefined when empty or not JSON). */
  async send<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<HttpResponse<T>> {
    const response = await this.open(method, path, body, headers);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.statusCode ?? 0, headers: response.headers, body: parsed as T };
  }

  /**
   * Sends until the server gives an answer worth returning. Every request the CLI makes is
   * idempotent (client-chosen run ids, event ids, merge PATCHes), so a retry is always safe.
   */
  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<HttpResponse<T>> {
    const retryForMs = options.retryForMs ?? this.retryForMs;
    let firstFailure: number | undefined;
    for (let attempt = 0; ; attempt++) {
      let reason: string;
      let retryAfterMs = 0;
      /** The server answered (and said why it could not do it), as opposed to not answering. */
      let answered = false;
      try {
        const response = await this.send<T>(method, path, body, options.headers);
        this.checkAuth(response.status, response.body);
        if (!isRetryableStatus(response.status)) return response;
        reason = `${response.status}${errorText(response.body)}`;
        answered = errorText(response.body) !== '';
        retryAfterMs = parseRetryAfterMs(headerValue(response.headers['retry-after']));
      } catch (error) {
        if (error instanceof CliError || this.#closed) throw error;
        reason = networkReason(error);
      }
      firstFailure ??= Date.now();
      const delayMs = backoffDelayMs(attempt, retryAfterMs);
      const elapsed = Date.now() - firstFailure;
      if (elapsed + delayMs > retryForMs) {
        throw answered
          ? this.unavailable(`${method} ${path}`, reason, retryForMs)
          : this.unreachable(reason, retryForMs);
      }
      this.#onRetry?.({ reason, retryForMs, attempt, delayMs });
      await sleep(delayMs);
    }
  }

  /** 401 / 403 end the command at once: retrying a wrong key cannot help. */
  checkAuth(status: number | undefined, body?: unknown): void {
    if (status === 401 || status === 403) {
      throw new CliError(
        EXIT.unreachable,
        `the server at ${this.baseUrl} rejected the API key (${status}${errorText(body)}); ` +
          "pass the server's key with --api-key or AGENTOPS_API_KEY",
      );
    }
  }

  /** The server is up but kept refusing (a full disk, too many open files): its words, not ours. */
  unavailable(what: string, reason: string, retryForMs: number): CliError {
    const seconds = Math.round(retryForMs / 100) / 10;
    return new CliError(
      EXIT.unreachable,
      `the server at ${this.baseUrl} refused ${what} (${reason}) and still did after retrying for ${seconds} s`,
    );
  }

  unreachable(reason: string, retryForMs: number): CliError {
    const seconds = Math.round(retryForMs / 100) / 10;
    return new CliError(
      EXIT.unreachable,
      `cannot reach the server at ${this.baseUrl} (${reason}) after retrying for ${seconds} s; ` +
        'start it with "agent-ops serve" or point --server / AGENTOPS_SERVER at it',
    );
  }

  close(): void {
    this.#closed = true;
    this.#agent.destroy();
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `: <server's error text>` when the body is the protocol's `{error}`. */
export function errorText(body: unknown): string {
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' ? `: ${error}` : '';
}

export function networkReason(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  return code ?? message ?? String(error);
}
