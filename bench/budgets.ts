// The one budgets table of the project, row by row: what must be measured and how good it must be.
// A scenario imports the budgets it checks; a row whose `scenario` is undefined has no scenario yet
// and is listed as such at the end of the report, and `notYet` names the part of a row that its
// scenario does not measure yet.

export interface Budget {
  /** What is measured. */
  what: string;
  /** The budget, in words. */
  text: string;
  /** The scenario (a name in bench/scenarios.ts) that checks it. */
  scenario: string | undefined;
  /** What of this row no scenario measures yet. */
  notYet?: string;
}

export const BUDGETS = {
  ingest: {
    what: 'single-event POST ingest, acked = written to the OS',
    text: '≥ 0.9 × a bare node:http server in events per server CPU-second, same run',
    scenario: 'ingest',
    perCpuRatio: 0.9,
  },
  batch: {
    what: 'batch ingest',
    text: '≥ 400,000 events/s',
    scenario: 'batch',
    eventsPerS: 400_000,
  },
  delivery100: {
    what: 'POST → SSE delivery, 100 subscribers in other processes, 1,000 events/s',
    text: 'every event, p99 ≤ 25 ms',
    scenario: 'delivery',
    p99Ms: 25,
  },
  delivery500: {
    what: 'POST → SSE delivery, 500 subscribers, 1,000 events/s',
    text:
      'every event, p99 ≤ 100 ms; 500 stalled subscribers never freeze ingest or grow RSS ' +
      'past 200 MB',
    scenario: 'delivery',
    p99Ms: 100,
    rssMb: 200,
  },
  store: {
    what: 'store of 10,000,000 events / 100,000 runs',
    text:
      'cold start ≤ 1.5 s; RSS ≤ 150 MB at start and bounded after touching every run; ' +
      'list and search ≤ 50 ms',
    scenario: 'store',
    coldStartMs: 1500,
    rssMb: 150,
    listMs: 50,
  },
  cli: {
    what: 'CLI',
    text: '`--help` within 40 ms of `node -e 0`; `--steps 1000 --interval 0` ≤ 0.5 s',
    scenario: 'cli',
    helpOverheadMs: 40,
    stepsMs: 500,
  },
  queue: {
    what: 'queue',
    text:
      'queued → running with an idle worker p50 ≤ 20 ms, p99 ≤ 100 ms; 1,000 runs drained by ' +
      '4 workers with none claimed twice',
    scenario: 'queue',
  },
  approvals: {
    what: 'approvals',
    text: 'decision → producer p99 ≤ 50 ms',
    scenario: 'approvals',
    p99Ms: 50,
  },
  dashboard: {
    what: 'dashboard',
    text: 'a 1,000,000-event run opens ≤ 300 ms; 1,000 events/s live with no task over 50 ms',
    scenario: 'dashboard',
    openMs: 300,
    longTaskMs: 50,
  },
  traces: {
    what: 'dashboard: traces',
    text: 'a 20,000-span trace opens ≤ 1 s; 200 spans/s live keep up',
    scenario: 'traces',
    openMs: 1000,
  },
  openTelemetry: {
    what: 'OpenTelemetry',
    text: 'export ≥ 50,000 spans/s with bounded lag; `/v1/traces` ingest ≥ 0.5 × our own batch route',
    scenario: 'otel',
    exportSpansPerS: 50_000,
    ingestRatio: 0.5,
  },
} as const satisfies Record<string, Budget & { readonly [limit: string]: unknown }>;
