// Refusals that exist only in HTTP (size limits, methods, media types, auth); domain failures are
// the kinds of shared/errors.ts.
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.headers = headers;
  }
}
