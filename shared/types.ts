import type { PendingApproval } from './approvals.ts';
import type { FSYNC_MODES, LEVELS, RUN_STATUSES, TERMINAL_STATUSES } from './constants.ts';
import type { Usage } from './usage.ts';

export type RunStatus = (typeof RUN_STATUSES)[number];
export type Level = (typeof LEVELS)[number];
export type FsyncMode = (typeof FSYNC_MODES)[number];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
export type ControlAction = 'pause' | 'resume' | 'stop';

export type JsonObject = { [key: string]: unknown };

export interface RunControl {
  pending?: ControlAction;
  producerAttached: boolean;
  /** When the producer's control channel closed; cleared when it reconnects. */
  detachedAt?: string;
  /** Approvals waiting for a decision, oldest first. */
  approvals?: PendingApproval[];
  /** The seq of the newest decision or directive, so a reconnecting producer is sent what it missed. */
  lastMessageSeq?: number;
}

/** A run made with `lease: <seconds>`: every event and every re-attach moves `expiresAt`. */
export interface RunLease {
  seconds: number;
  expiresAt: string;
}

/** The worker that claimed a queued run. */
export interface RunWorker {
  id: string;
  name: string;
}

export interface Run {
  id: string;
  title: string;
  status: RunStatus;
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  errorMessage?: string;
  metadata: JsonObject;
  eventCount: number;
  toolCallCount: number;
  errorCount: number;
  lastSeq: number;
  lastEventAt?: string;
  control?: RunControl;
  /** Totals of the run's usage.report events; see shared/usage.ts. */
  usage?: Usage;
  lease?: RunLease;
  /** Queued work: the task a worker runs, the values of its parameters, and its attempts. */
  task?: string;
  input?: TaskInput;
  queuedAt?: string;
  attempt?: number;
  maxAttempts?: number;
  worker?: RunWorker;
}

/** Values that fill a task's `{param}` placeholders, each one whole argument. */
export type TaskInput = { [param: string]: string | number | boolean };

export interface TaskParam {
  name: string;
  /** False for a parameter the task has a default for (the built-in simulate task's). */
  required: boolean;
}

/** A task a worker offers: a name its operator defined, and the parameters it takes. */
export interface TaskOffer {
  name: string;
  params: TaskParam[];
  format?: string;
}

export type WorkerState = 'idle' | 'busy' | 'gone';

/** What a worker says about itself when it connects. */
export interface WorkerAnnouncement {
  id?: string;
  name: string;
  host: string;
  pid: number;
  concurrency: number;
  tasks: TaskOffer[];
}

export interface WorkerInfo {
  id: string;
  name: string;
  host: string;
  pid: number;
  concurrency: number;
  tasks: TaskOffer[];
  /** The runs it has claimed and not yet ended. */
  running: string[];
  startedAt: string;
  lastSeenAt: string;
  state: WorkerState;
}

/** What the server pushes on a worker's claims stream. */
export type ClaimMessage = { kind: 'claim'; run: Run };

export interface AgentEvent {
  id: string;
  seq: number;
  runId: string;
  ts: string;
  type: string;
  level: Level;
  agentId?: string;
  taskId?: string;
  payload: JsonObject;
}

/** What a producer sends: everything but the server-assigned fields is optional except `type`. */
export interface EventInput {
  id?: string;
  ts?: string;
  type: string;
  level?: Level;
  agentId?: string;
  taskId?: string;
  payload?: JsonObject;
}

export interface RunInput {
  id?: string;
  title?: string;
  status?: RunStatus;
  metadata?: JsonObject;
  /** Seconds without an event after which the server ends the run as producer-lost. */
  lease?: number;
  task?: string;
  input?: TaskInput;
  maxAttempts?: number;
}

export interface RunPatch {
  title?: string;
  status?: RunStatus;
  errorMessage?: string | null;
  metadata?: JsonObject;
}

/** What `agent-ops serve` hands the server once its command line is parsed. */
export interface ServeOptions {
  /** Webhook URLs told of approvals requested and runs that failed or finished long. */
  notify?: string[];
  /** A completed run is announced when it ran at least this long. */
  notifyMinDurationMs?: number;
  port: number;
  host: string;
  /** Absolute. */
  dataDir: string;
  fsync: FsyncMode;
  retentionMax: number | undefined;
  apiKey: string | undefined;
  /** Host names answered beside localhost, 127.0.0.1, [::1] and `host` (--allow-host). */
  allowHosts?: string[];
  /** Origins of web pages allowed to call the API (--cors-origin); none by default. */
  corsOrigins?: string[];
  /** Listen beyond loopback with no key, on purpose (--insecure-no-key). */
  insecureNoKey?: boolean;
  /** No request log on stderr. */
  quiet: boolean;
  /** A producer or worker gone this long is lost (--lost-after). */
  lostAfterMs: number;
  /** `--otlp-endpoint`: export runs and spans over OTLP/HTTP. */
  otlp?: OtlpExportConfig;
}

export interface OtlpExportConfig {
  /** The collector's base URL; requests go to `<endpoint>/v1/traces`. */
  endpoint: string;
  /** A full URL used as it is (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), instead of the one above. */
  tracesUrl?: string;
  headers: Record<string, string>;
  serviceName: string;
}

/** /health's `otlp`, when export is on: `lag` counts stored events not yet exported. */
export interface OtlpHealth {
  endpoint: string;
  lag: number;
  sent: number;
  failed: number;
  lastError?: string;
}

/** One item of the answer to a batch of events (201 or 207): `{results: [...]}`, in input order. */
export interface BatchItemResult {
  /** 201 stored, 200 a duplicate id (the stored event), else the refusal's status. */
  status: number;
  event?: AgentEvent;
  error?: string;
}

export interface BatchResponse {
  results: BatchItemResult[];
}

export type RunChange =
  | { kind: 'run'; run: Run }
  | { kind: 'deleted'; id: string }
  | { kind: 'worker'; worker: WorkerInfo };

/** One `serve --notify` target as /health reports it. */
export interface NotifyTargetStats {
  /** The target's origin; its path is left out, since webhook paths are secrets. */
  target: string;
  sent: number;
  /** Messages given up on after every retry. */
  failed: number;
  /** Messages dropped because the queue was full. */
  dropped: number;
  pending: number;
  lastError?: string;
  lastErrorAt?: string;
}

export interface Health {
  status: 'ok' | 'degraded';
  reason?: string;
  time: string;
  version: string;
  store: {
    runs: number;
    events: number;
    bytes: number;
    /** Damaged records skipped in the data files (each also logged once). */
    skippedRecords: number;
    /** Seqs of loaded runs that have no readable record (damage, or a segment file gone). */
    missingEvents: number;
  };
  streams: { subscribers: number; maxBufferedBytes: number };
  /** With `serve --notify`: each target's deliveries, failures included. */
  notify?: NotifyTargetStats[];
  /** Present when export is on (`serve --otlp-endpoint`). */
  otlp?: OtlpHealth;
}
