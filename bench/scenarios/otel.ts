// OpenTelemetry in and out. In: spans per second through POST /v1/traces (OTLP JSON and protobuf)
// against the very events those spans become, sent through our own batch route, as a ratio. Out:
// spans per second from `serve --otlp-endpoint` to a local receiver, and the export lag (events
// not yet exported) while events arrive at 1,000 per second.
import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pb, protoRequest, protoSpan } from '../../test/helpers/protobuf-writer.ts';
import { BUDGETS } from '../budgets.ts';
import { benchTempDir } from '../harness/children.ts';
import { fmt } from '../harness/format.ts';
import { cpuMark, noiseNote, otherCoresSince, processCpuMs } from '../harness/proc-stats.ts';
import { passFail } from '../harness/report.ts';
import type { Bench } from '../harness/scenario.ts';
import { startOurs, withServer, type BenchServer } from '../harness/servers.ts';
import { MEASURE_MS, WARMUP_MS } from '../harness/timing.ts';

export const title = 'OpenTelemetry: /v1/traces ingest and OTLP export';

/** Spans per OTLP request (the SDK batches 512); the batch route gets their 2 events each. */
const SPANS_PER_REQUEST = 500;
const CONNECTIONS = 4;
/** Spans queued for the export throughput window (the receiver refuses until all are stored). */
const EXPORT_SPANS = 100_000;
/** The paced ingest under which export lag is watched. */
const PACED_EVENTS_PER_S = 1000;
const PACED_TICK_MS = 100;
const LAG_SAMPLE_MS = 200;
const START_NS = 1_767_323_045_000_000_000n;
const NANOS_PER_MS = 1_000_000n;

/** A 32-hex trace id unique to request `n`. */
function traceHex(n: number): string {
  return n.toString(16).padStart(32, 'a');
}

function spanHex(i: number): string {
  return (i + 1).toString(16).padStart(16, '0');
}

function spanName(i: number): string {
  return i === 0 ? 'invoke_agent bench' : `step ${i}`;
}

const attributes = (i: number) => [
  { key: 'gen_ai.operation.name', value: { stringValue: i === 0 ? 'invoke_agent' : 'chat' } },
  { key: 'step', value: { intValue: String(i) } },
];

/** An OTLP JSON body whose trace id is a placeholder to fill per request. */
function otlpJsonTemplate(placeholder: string): string[] {
  const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, i) => ({
    traceId: placeholder,
    spanId: spanHex(i),
    ...(i === 0 ? {} : { parentSpanId: spanHex(0) }),
    name: spanName(i),
    kind: 1,
    startTimeUnixNano: String(START_NS + BigInt(i) * NANOS_PER_MS),
    endTimeUnixNano: String(START_NS + BigInt(i + 1) * NANOS_PER_MS),
    attributes: attributes(i),
  }));
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }).split(placeholder);
}

/** The same spans in protobuf, and where each trace id sits so it can be overwritten per request. */
function otlpProtobufTemplate(): { body: Buffer; offsets: number[] } {
  const marker = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex');
  const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, i) =>
    protoSpan({
      traceId: marker,
      spanId: Buffer.from(spanHex(i), 'hex'),
      parentSpanId: i === 0 ? undefined : Buffer.from(spanHex(0), 'hex'),
      name: spanName(i),
      startNs: START_NS + BigInt(i) * NANOS_PER_MS,
      endNs: START_NS + BigInt(i + 1) * NANOS_PER_MS,
      extra: [
        pb.message(
          9,
          pb.bytes(1, 'gen_ai.operation.name'),
          pb.message(2, pb.bytes(1, i === 0 ? 'invoke_agent' : 'chat')),
        ),
        pb.message(9, pb.bytes(1, 'step'), pb.message(2, pb.varint(3, i))),
      ],
    }),
  );
  const body = protoRequest(...spans);
  const offsets: number[] = [];
  for (let at = body.indexOf(marker); at !== -1; at = body.indexOf(marker, at + 1))
    offsets.push(at);
  return { body, offsets };
}

/** The events /v1/traces makes of those spans, as one batch for the batch route. */
function batchBody(): string {
  const iso = (ns: bigint) => new Date(Number(ns / NANOS_PER_MS)).toISOString();
  const events: unknown[] = [];
  for (let i = 0; i < SPANS_PER_REQUEST; i++) {
    const id = `otel:${spanHex(i)}`;
    const start = START_NS + BigInt(i) * NANOS_PER_MS;
    const payload = {
      spanId: spanHex(i),
      ...(i === 0 ? {} : { parentSpanId: spanHex(0) }),
      name: spanName(i),
      kind: i === 0 ? 'agent' : 'llm',
      attributes: { 'gen_ai.operation.name': i === 0 ? 'invoke_agent' : 'chat', step: i },
    };
    events.push({ id: `${id}:started`, ts: iso(start), type: 'span.started', payload });
    events.push({
      id: `${id}:ended`,
      ts: iso(start + NANOS_PER_MS),
      type: 'span.ended',
      payload: { spanId: spanHex(i), status: 'ok' },
    });
  }
  return JSON.stringify(events);
}

interface Sender {
  path(n: number): string;
  contentType: string;
  body(n: number): string | Buffer;
}

interface InResult {
  spansPerS: number;
  /** Spans per second of the server's own CPU: what the ratio uses, as other work skews wall time. */
  spansPerCpuS: number;
  requests: number;
  errors: string[];
}

/**
 * Closed loop over CONNECTIONS kept-alive connections; spans per second in the window, and per
 * CPU-second of the server.
 */
async function spansPerSecond(
  server: BenchServer,
  sender: Sender,
  firstRequest: number,
): Promise<InResult> {
  const url = server.url;
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const { hostname, port } = new URL(url);
  let next = firstRequest;
  let counted = 0;
  const errors: string[] = [];
  const windowStart = performance.now() + WARMUP_MS;
  const windowEnd = windowStart + MEASURE_MS;
  const cpu: number[] = [];
  setTimeout(() => cpu.push(processCpuMs(server.pid)), WARMUP_MS);
  setTimeout(() => cpu.push(processCpuMs(server.pid)), WARMUP_MS + MEASURE_MS);
  const post = (n: number) =>
    new Promise<void>((resolve) => {
      const body = sender.body(n);
      const req = request(
        {
          hostname,
          port,
          agent,
          method: 'POST',
          path: sender.path(n),
          headers: {
            'content-type': sender.contentType,
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status !== 200 && status !== 201)
              errors.push(`${status} ${Buffer.concat(chunks).toString().slice(0, 200)}`);
            resolve();
          });
        },
      );
      req.on('error', (error) => {
        errors.push(error.message);
        resolve();
      });
      req.end(body);
    });
  const loop = async () => {
    while (performance.now() < windowEnd && errors.length === 0) {
      const n = next++;
      await post(n);
      const now = performance.now();
      if (now >= windowStart && now < windowEnd) counted++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  agent.destroy();
  const spans = counted * SPANS_PER_REQUEST;
  return {
    spansPerS: spans / (MEASURE_MS / 1000),
    spansPerCpuS: spans / ((cpu[1]! - cpu[0]!) / 1000),
    requests: next - firstRequest,
    errors,
  };
}

async function measureIn({ report }: Bench): Promise<void> {
  const server = await startOurs(benchTempDir('otel-in'));
  await withServer(report, server, 'otel in', async () => {
    const jsonParts = otlpJsonTemplate('@TRACE@');
    const proto = otlpProtobufTemplate();
    const batch = batchBody();
    const senders: Record<'batch' | 'json' | 'protobuf', Sender> = {
      batch: {
        path: (n) => `/api/runs/otel-${traceHex(n)}/events`,
        contentType: 'application/json',
        body: () => batch,
      },
      json: {
        path: () => '/v1/traces',
        contentType: 'application/json',
        body: (n) => jsonParts.join(traceHex(n)),
      },
      protobuf: {
        path: () => '/v1/traces',
        contentType: 'application/x-protobuf',
        body: (n) => {
          const body = Buffer.from(proto.body);
          const id = Buffer.from(traceHex(n), 'hex');
          for (const offset of proto.offsets) id.copy(body, offset);
          return body;
        },
      },
    };
    const results: Record<string, InResult> = {};
    // Each sender its own trace ids (so nothing is a duplicate), each run of ours a new one.
    let first = 1;
    for (const [name, sender] of Object.entries(senders)) {
      const mark = cpuMark();
      const result = await spansPerSecond(server, sender, first);
      first += result.requests + 1;
      if (result.errors.length > 0)
        report.broken(`otel in (${name}): ${result.errors.slice(0, 3).join('; ')}`);
      results[name] = result;
      console.log(
        `  ${name}: ${fmt(result.spansPerS)} spans/s, ${fmt(result.spansPerCpuS)} per server CPU-s` +
          noiseNote(otherCoresSince(mark)),
      );
    }
    report.results.otelIn = results;
    const budget = BUDGETS.openTelemetry.ingestRatio;
    const batchResult = results.batch!;
    for (const name of ['json', 'protobuf'] as const) {
      const ratio = results[name]!.spansPerCpuS / batchResult.spansPerCpuS;
      report.row(
        `/v1/traces ingest, OTLP ${name} (${SPANS_PER_REQUEST} spans/POST)`,
        `${fmt(results[name]!.spansPerCpuS)} spans/CPU-s (${fmt(results[name]!.spansPerS)}/s)`,
        `batch route: ${fmt(batchResult.spansPerCpuS)} spans/CPU-s`,
        `${fmt(ratio, 2)}× (≥ ${budget}×) ${passFail(ratio >= budget)}`,
      );
    }
  });
}

interface Receiver {
  url: string;
  spans(): number;
  /** When the first request was taken, and how many spans it held. */
  first(): { at: number; spans: number } | undefined;
  /** Until open, every request is answered 503 with Retry-After. */
  open(): void;
  close(): Promise<void>;
}

/** A local OTLP/HTTP receiver that counts the spans it takes. */
async function startReceiver(): Promise<Receiver> {
  let spans = 0;
  let open = false;
  let first: { at: number; spans: number } | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (!open) {
        res.writeHead(503, { 'retry-after': '1' }).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }>;
      };
      let taken = 0;
      for (const resource of body.resourceSpans)
        for (const scope of resource.scopeSpans) taken += scope.spans.length;
      first ??= { at: performance.now(), spans: taken };
      spans += taken;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => spans,
    first: () => first,
    open: () => (open = true),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function postJson(url: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}

async function otlpHealth(server: BenchServer): Promise<{ lag: number; sent: number }> {
  const health = (await (await fetch(`${server.url}/health`)).json()) as {
    otlp: { lag: number; sent: number };
  };
  return health.otlp;
}

/** `count` spans as span.started / span.ended events, `perPost` spans per POST. */
async function ingestSpans(
  url: string,
  runId: string,
  from: number,
  count: number,
  perPost: number,
) {
  for (let i = from; i < from + count; i += perPost) {
    const events: unknown[] = [];
    for (let j = i; j < Math.min(from + count, i + perPost); j++) {
      events.push({
        type: 'span.started',
        payload: { spanId: `s${j}`, name: `step ${j}`, kind: 'task' },
      });
      events.push({ type: 'span.ended', payload: { spanId: `s${j}`, status: 'ok' } });
    }
    await postJson(url, `/api/runs/${runId}/events`, events);
  }
}

async function measureOut({ report }: Bench): Promise<void> {
  const receiver = await startReceiver();
  const server = await startOurs(benchTempDir('otel-out'), ['--otlp-endpoint', receiver.url]);
  try {
    await withServer(report, server, 'otel out', async () => {
      // Throughput: spans pile up while the receiver refuses, then drain once it takes them.
      await ingestSpans(server.url, 'bench-export', 0, EXPORT_SPANS, 500);
      while ((await otlpHealth(server)).lag < EXPORT_SPANS * 2) await sleep(50);
      const mark = cpuMark();
      const started = performance.now();
      const cpuBefore = processCpuMs(server.pid);
      receiver.open();
      while (receiver.spans() < EXPORT_SPANS) {
        await sleep(20);
        if (performance.now() - started > 120_000) {
          report.broken(`otel out: only ${receiver.spans()} of ${EXPORT_SPANS} spans arrived`);
          return;
        }
      }
      // From the first batch taken, so the receiver's last Retry-After is not counted.
      const first = receiver.first()!;
      const spansPerS = (receiver.spans() - first.spans) / ((performance.now() - first.at) / 1000);
      const spansPerCpuS = receiver.spans() / ((processCpuMs(server.pid) - cpuBefore) / 1000);
      const budget = BUDGETS.openTelemetry.exportSpansPerS;
      report.row(
        'OTLP export to a local receiver',
        `${fmt(spansPerS)} spans/s (${fmt(spansPerCpuS)} per server CPU-s)`,
        `≥ ${fmt(budget)} spans/s`,
        passFail(spansPerS >= budget) + noiseNote(otherCoresSince(mark)),
      );

      // Lag while 1,000 events/s arrive (500 spans/s in batches every tick).
      const perTick = (PACED_EVENTS_PER_S * PACED_TICK_MS) / 1000 / 2;
      let maxLag = 0;
      let spanNumber = EXPORT_SPANS;
      const end = performance.now() + MEASURE_MS;
      let nextSample = 0;
      while (performance.now() < end) {
        const tick = performance.now();
        await ingestSpans(server.url, 'bench-export-paced', spanNumber, perTick, perTick);
        spanNumber += perTick;
        if (tick >= nextSample) {
          maxLag = Math.max(maxLag, (await otlpHealth(server)).lag);
          nextSample = tick + LAG_SAMPLE_MS;
        }
        await sleep(Math.max(0, PACED_TICK_MS - (performance.now() - tick)));
      }
      let settled = performance.now();
      while ((await otlpHealth(server)).lag > 0 && performance.now() - settled < 30_000)
        await sleep(50);
      settled = performance.now() - settled;
      report.results.otelOut = { spansPerS, spansPerCpuS, maxLagEvents: maxLag, drainMs: settled };
      report.row(
        `OTLP export lag at ${fmt(PACED_EVENTS_PER_S)} events/s in`,
        `max ${fmt(maxLag)} events behind`,
        'bounded',
        `caught up ${fmt(settled)} ms after ingest stopped`,
      );
    });
  } finally {
    await receiver.close();
  }
}

export async function run(bench: Bench): Promise<void> {
  await measureIn(bench);
  await measureOut(bench);
}
