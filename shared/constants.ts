// Every tunable of the protocol in one place, with its unit in the name.

export const VERSION = '0.1.0';

export const DEFAULT_PORT = 8787;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_SERVER_URL = 'http://localhost:8787';
export const DEFAULT_DATA_DIR = './data';

export const RUN_STATUSES = [
  'queued',
  'running',
  'paused',
  'completed',
  'error',
  'stopped',
] as const;
export const TERMINAL_STATUSES = ['completed', 'error', 'stopped'] as const;
export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;
export const MAX_EVENT_ID_LENGTH = 200;
export const MAX_NAME_LENGTH = 200;
export const MAX_TITLE_LENGTH = 500;
export const MAX_ERROR_MESSAGE_LENGTH = 10_000;

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_BATCH_EVENTS = 1000;
export const MAX_JSON_DEPTH = 64;

export const RUNS_DEFAULT_LIMIT = 100;
export const RUNS_MAX_LIMIT = 1000;
export const EVENTS_DEFAULT_LIMIT = 500;
export const EVENTS_MAX_LIMIT = 5000;

export const SSE_RETRY_MS = 1000;
export const HEARTBEAT_MS = 15_000;
/** Three missed heartbeats: a stream this long without a byte is dead even if its socket is open. */
export const STREAM_SILENCE_LIMIT_MS = 3 * HEARTBEAT_MS;
/** A subscriber whose unsent bytes pass this is cut off; it resumes by id. */
export const MAX_SUBSCRIBER_BACKLOG_BYTES = 8 * 1024 * 1024;
/** Run-list stream: count-only changes of one run go out at most this often. */
export const RUN_CHANGE_THROTTLE_MS = 250;

export const FSYNC_INTERVAL_MS = 100;
export const FSYNC_MODES = ['batch', 'always', 'never'] as const;
export const DEFAULT_FSYNC_MODE = 'batch' satisfies (typeof FSYNC_MODES)[number];

/** `serve --notify`: a completed run is announced when it ran at least this long. */
export const DEFAULT_NOTIFY_MIN_DURATION_MS = 60_000;
/** serve --lost-after: a producer detached this long with no event is lost. */
export const DEFAULT_LOST_AFTER_MS = 60_000;
/** The longest `lease` a run may ask for: 30 days. */
export const MAX_LEASE_S = 30 * 86_400;
export const TASK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const PARAM_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const DEFAULT_MAX_ATTEMPTS = 1;
export const MAX_ATTEMPTS_LIMIT = 10;
/** A task's input value may be this long (it becomes one command-line argument). */
export const MAX_INPUT_VALUE_LENGTH = 100_000;
export const MAX_WORKER_CONCURRENCY = 1000;
export const MAX_WORKER_TASKS = 100;
/** A worker gone this long is dropped from GET /api/workers. */
export const GONE_WORKER_KEEP_MS = 10 * 60_000;

/** A run the server ended because its producer went away: run.error's `reason`, and how its message starts. */
export const PRODUCER_LOST_REASON = 'producer-lost';
export const PRODUCER_LOST_MESSAGE_PREFIX = 'producer lost';

/**
 * OTLP/HTTP request bodies (/v1/traces), before and after gzip. OTLP recommends 64 MiB; a quarter
 * of that holds tens of thousands of spans and keeps one request's memory modest.
 */
export const MAX_OTLP_BODY_BYTES = 16 * 1024 * 1024;
