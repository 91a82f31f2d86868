import type { FSYNC_MODES, LEVELS, RUN_STATUSES, TERMINAL_STATUSES } from './constants.ts';

export type RunStatus = (typeof RUN_STATUSES)[number];
export type Level = (typeof LEVELS)[number];
export type FsyncMode = (typeof FSYNC_MODES)[number];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
export type ControlAction = 'pause' | 'resume' | 'stop';

export type JsonObject = { [key: string]: unknown };

export interface RunControl {
  pending?: ControlAction;
  producerAttached: boolean;
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
}

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
}

export interface RunPatch {
  title?: string;
  status?: RunStatus;
  errorMessage?: string | null;
  metadata?: JsonObject;
}

/** What `agent-ops serve` hands the server once its command line is parsed. */
export interface ServeOptions {
  port: number;
  host: string;
  /** Absolute. */
  dataDir: string;
  fsync: FsyncMode;
  retentionMax: number | undefined;
  apiKey: string | undefined;
  /** No request log on stderr. */
  quiet: boolean;
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

export type RunChange = { kind: 'run'; run: Run } | { kind: 'deleted'; id: string };

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
  /** Present when export is on (`serve --otlp-endpoint`). */
  otlp?: OtlpHealth;
}
