import type { FSYNC_MODES, LEVELS, RUN_STATUSES } from './constants.ts';

export type RunStatus = (typeof RUN_STATUSES)[number];
export type Level = (typeof LEVELS)[number];
export type FsyncMode = (typeof FSYNC_MODES)[number];
export type ControlAction = 'pause' | 'resume' | 'stop';

export type JsonObject = { [key: string]: unknown };

export interface RunControl {
  pending?: ControlAction;
  producerAttached: boolean;
  /** When the producer's control channel closed on a run that had not ended; cleared on re-attach. */
  detachedAt?: string;
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

export type RunChange = { kind: 'run'; run: Run } | { kind: 'deleted'; id: string };

export interface Health {
  status: 'ok' | 'degraded';
  reason?: string;
  time: string;
  version: string;
  store: { runs: number; events: number; bytes: number };
  streams: { subscribers: number; maxBufferedBytes: number };
}
