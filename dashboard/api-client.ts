// fetch against our own API with the key header; a 401 asks for the key once and retries.
import { promptForKey, storedKey } from './key-prompt.ts';

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export function authHeaders(): Record<string, string> {
  const key = storedKey();
  return key ? { 'x-api-key': key } : {};
}

/** fetch with the key; on 401 prompts for a key and tries again until the server accepts one. */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  let rejected = false;
  for (;;) {
    const headers = { ...(init.headers as Record<string, string>), ...authHeaders() };
    const response = await fetch(path, { ...init, headers });
    if (response.status !== 401) return response;
    await response.body?.cancel();
    rejected = storedKey() !== undefined;
    await promptForKey(rejected);
  }
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await apiFetch(path, init);
  const text = await response.text();
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = JSON.parse(text) as { error?: unknown };
      if (typeof body.error === 'string') message = body.error;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, message);
  }
  return JSON.parse(text) as T;
}

/** The API path of a run: the one definition in shared/, under the name this page uses. */
export { runApiPath as runPath } from '../shared/run-url.ts';
