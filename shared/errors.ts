// The kinds of failure every part shares. The store and the validators throw these and know
// nothing of HTTP; server/respond.ts maps each kind to a status, cli/run-cli.ts to an exit code.

export type ErrorKind = 'invalid' | 'not-found' | 'conflict' | 'gone' | 'unavailable';

export class AgentOpsError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.name = 'AgentOpsError';
    this.kind = kind;
  }
}

/** Input that breaks the protocol; the message names the field and quotes the value. */
export class ValidationError extends AgentOpsError {
  constructor(message: string) {
    super('invalid', message);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends AgentOpsError {
  constructor(message: string) {
    super('not-found', message);
    this.name = 'NotFoundError';
  }
}

/** The request is well formed but the current state does not allow it (it names that state). */
export class ConflictError extends AgentOpsError {
  constructor(message: string) {
    super('conflict', message);
    this.name = 'ConflictError';
  }
}

/** The thing existed and was removed on purpose. */
export class GoneError extends AgentOpsError {
  constructor(message: string) {
    super('gone', message);
    this.name = 'GoneError';
  }
}

/** A resource (disk, files) refused for now; worth retrying after `retryAfterS` seconds. */
export class UnavailableError extends AgentOpsError {
  readonly retryAfterS: number;

  constructor(message: string, retryAfterS = 1) {
    super('unavailable', message);
    this.name = 'UnavailableError';
    this.retryAfterS = retryAfterS;
  }
}

export function invalid(message: string): ValidationError {
  return new ValidationError(message);
}
