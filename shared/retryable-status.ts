// Which HTTP answers a client should retry (with backoff, within its time limit): overload (429)
// and server errors (5xx). Anything else retrying cannot change.
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}
