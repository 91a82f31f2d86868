// Black-box specification of how POST /v1/traces answers bad input, as OTLP/HTTP says: a body that
// does not decode is a 400 (in the request's encoding), a span that is wrong on its own is refused
// in partialSuccess while the rest are stored, unknown fields are ignored, other media types are
// 415 and bodies over the limit 413. Afterwards the server is still up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MAX_OTLP_BODY_BYTES } from '../shared/constants.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { api } from './helpers/http.ts';
import { pb, protoRequest, protoSpan } from './helpers/protobuf-writer.ts';
import { serverFor } from './helpers/server.ts';

const JSON_TYPE = { 'content-type': 'application/json' };
const PROTOBUF_TYPE = { 'content-type': 'application/x-protobuf' };
const START_NS = 1767323045000000000n;
const END_NS = START_NS + 1_000_000n;

/** A fresh trace id per case, so each case's run is its own. */
let traceCounter = 0;
function nextTraceHex(): string {
  traceCounter++;
  return traceCounter.toString(16).padStart(32, 'c');
}

function jsonSpan(traceId: string, overrides: Record<string, unknown> = {}) {
  return {
    traceId,
    spanId: 'ab'.repeat(8),
    name: 'step',
    startTimeUnixNano: String(START_NS),
    endTimeUnixNano: String(END_NS),
    ...overrides,
  };
}

function jsonRequest(...spans: unknown[]) {
  return { resourceSpans: [{ scopeSpans: [{ spans }] }] };
}

function goodProtoSpan(traceHex: string, extra: Buffer[] = []): Buffer {
  return protoSpan({
    traceId: Buffer.from(traceHex, 'hex'),
    spanId: Buffer.from('ab'.repeat(8), 'hex'),
    name: 'step',
    startNs: START_NS,
    endNs: END_NS,
    extra,
  });
}

interface Refused {
  name: string;
  headers: Record<string, string>;
  body: Buffer | string;
  status: number;
  message: RegExp;
}

const undecodable: Refused[] = [
  {
    name: 'truncated protobuf',
    headers: PROTOBUF_TYPE,
    body: protoRequest(goodProtoSpan(nextTraceHex())).subarray(0, 40),
    status: 400,
    message: /truncated/,
  },
  {
    name: 'a known protobuf field with the wrong wire type',
    headers: PROTOBUF_TYPE,
    body: protoRequest(Buffer.concat([pb.varint(5, 7)])),
    status: 400,
    message: /Span\.name must have wire type 2 \(length-delimited\); got 0 \(varint\)/,
  },
  {
    name: 'a protobuf group (wire type 3)',
    headers: PROTOBUF_TYPE,
    body: protoRequest(Buffer.concat([pb.tag(99, 3)])),
    status: 400,
    message: /wire type 3 \(group start\)/,
  },
  {
    name: 'a varint longer than ten bytes',
    headers: PROTOBUF_TYPE,
    body: protoRequest(Buffer.concat([pb.tag(6, 0), Buffer.alloc(11, 0xff)])),
    status: 400,
    message: /varint longer than 10 bytes/,
  },
  {
    name: 'a protobuf string that is not UTF-8',
    headers: PROTOBUF_TYPE,
    body: protoRequest(pb.bytes(5, Buffer.from([0xc3, 0x28]))),
    status: 400,
    message: /Span\.name is not valid UTF-8/,
  },
  {
    name: 'JSON that does not parse',
    headers: JSON_TYPE,
    body: '{"resourceSpans": [',
    status: 400,
    message: /not valid JSON/,
  },
  {
    name: 'JSON whose resourceSpans is not an array',
    headers: JSON_TYPE,
    body: '{"resourceSpans": {"a": 1}}',
    status: 400,
    message: /resourceSpans must be an array/,
  },
  {
    name: 'a gzip body that is not gzip',
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
    body: '{"resourceSpans": []}',
    status: 400,
    message: /not valid gzip/,
  },
  {
    name: 'a media type OTLP does not use',
    headers: { 'content-type': 'text/plain' },
    body: 'hello',
    status: 415,
    message: /content-type must be application\/json or application\/x-protobuf; got "text\/plain"/,
  },
  {
    name: 'a content-encoding other than gzip',
    headers: { ...JSON_TYPE, 'content-encoding': 'br' },
    body: '{}',
    status: 415,
    message: /content-encoding must be gzip or identity; got "br"/,
  },
  {
    name: 'a gzip body that unpacks past the limit',
    headers: { ...PROTOBUF_TYPE, 'content-encoding': 'gzip' },
    body: gzipSync(Buffer.alloc(MAX_OTLP_BODY_BYTES + 1)),
    status: 413,
    message: /at most 16777216 bytes once gunzipped/,
  },
  {
    name: 'a body over the limit',
    headers: JSON_TYPE,
    body: Buffer.alloc(MAX_OTLP_BODY_BYTES + 1, 0x20),
    status: 413,
    message: /at most 16777216 bytes/,
  },
];

interface SpanCase {
  name: string;
  span: (trace: string) => unknown;
  message: RegExp;
}

const refusedSpans: SpanCase[] = [
  {
    name: 'a negative start time',
    span: (trace) => jsonSpan(trace, { startTimeUnixNano: '-5' }),
    message:
      /startTimeUnixNano must be a whole number of nanoseconds from 0 to 18446744073709551615; got "-5"/,
  },
  {
    name: 'a time past 64 bits',
    span: (trace) => jsonSpan(trace, { endTimeUnixNano: '18446744073709551616' }),
    message: /endTimeUnixNano must be a whole number/,
  },
  {
    name: 'a time as a fraction',
    span: (trace) => jsonSpan(trace, { startTimeUnixNano: 1.5 }),
    message: /startTimeUnixNano must be a whole number/,
  },
  {
    name: 'no start time',
    span: (trace) => jsonSpan(trace, { startTimeUnixNano: undefined }),
    message: /startTimeUnixNano must be set/,
  },
  {
    name: 'an end before the start',
    span: (trace) => jsonSpan(trace, { endTimeUnixNano: String(START_NS - 1n) }),
    message: /endTimeUnixNano 1767323044999999999 is before startTimeUnixNano 1767323045000000000/,
  },
  {
    name: 'a trace id of 15 bytes',
    span: (trace) => jsonSpan(trace.slice(2)),
    message: /traceId must be 16 bytes \(32 hex digits\); got 15 bytes/,
  },
  {
    name: 'a span id of 9 bytes',
    span: (trace) => jsonSpan(trace, { spanId: 'ab'.repeat(9) }),
    message: /spanId must be 8 bytes \(16 hex digits\); got 9 bytes/,
  },
  {
    name: 'a parent span id of 4 bytes',
    span: (trace) => jsonSpan(trace, { parentSpanId: 'ab'.repeat(4) }),
    message: /parentSpanId must be 8 bytes/,
  },
  {
    name: 'an all-zero span id',
    span: (trace) => jsonSpan(trace, { spanId: '0'.repeat(16) }),
    message: /spanId must not be all zeros/,
  },
  {
    name: 'an id that is not hex',
    span: (trace) => jsonSpan(trace, { spanId: 'zz'.repeat(8) }),
    message: /spanId must be a hex string; got "zzzz/,
  },
  {
    name: 'an enum written as its name',
    span: (trace) => jsonSpan(trace, { kind: 'SPAN_KIND_SERVER' }),
    message: /kind must be an integer enum value; got "SPAN_KIND_SERVER"/,
  },
  {
    name: 'an attribute without a key',
    span: (trace) => jsonSpan(trace, { attributes: [{ value: { stringValue: 'x' } }] }),
    message: /attributes\[0\] must be an object with a string key/,
  },
];

test('POST /v1/traces with bad input', async (t) => {
  const server = await serverFor(t);
  const post = (headers: Record<string, string>, body: Buffer | string) =>
    api(server.url, '/v1/traces', { headers, raw: body });
  const runOf = async (trace: string) =>
    (await api<Run>(server.url, `/api/runs/otel-${trace}`)).body;

  for (const item of undecodable) {
    await t.test(`${item.name} is a ${item.status}`, async () => {
      const answer = await post(item.headers, item.body);
      assert.equal(answer.status, item.status, answer.text);
      if (item.headers['content-type'] === 'application/x-protobuf') {
        assert.match(answer.text, item.message);
        // A google.rpc.Status: field 2, the message.
        assert.equal(answer.headers.get('content-type'), 'application/x-protobuf');
        assert.equal(answer.text.charCodeAt(0), 0x12);
      } else assert.match(answer.body.error, item.message);
    });
  }

  for (const item of refusedSpans) {
    await t.test(
      `a span with ${item.name} is refused in partialSuccess, the others stored`,
      async () => {
        const trace = nextTraceHex();
        const good = jsonSpan(trace, { spanId: 'cd'.repeat(8) });
        const answer = await post(JSON_TYPE, JSON.stringify(jsonRequest(good, item.span(trace))));
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.body.partialSuccess.rejectedSpans, '1');
        assert.match(
          answer.body.partialSuccess.errorMessage,
          /^1 span refused: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]: /,
        );
        assert.match(answer.body.partialSuccess.errorMessage, item.message);
        assert.equal(
          (await runOf(trace)).eventCount,
          3,
          'the good root span: started, ended, run end',
        );
      },
    );
  }

  await t.test(
    'a protobuf span with ids of the wrong length is refused in a protobuf partialSuccess',
    async () => {
      const trace = nextTraceHex();
      const bad = protoSpan({
        traceId: Buffer.from(trace, 'hex'),
        spanId: Buffer.alloc(9, 1),
        name: 'bad',
        startNs: START_NS,
        endNs: END_NS,
      });
      const answer = await post(PROTOBUF_TYPE, protoRequest(goodProtoSpan(trace), bad));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('content-type'), 'application/x-protobuf');
      // ExportTraceServiceResponse { partial_success (1) { rejected_spans (1) = 1, error_message (2) } }
      const bytes = Buffer.from(
        await (
          await fetch(`${server.url}/v1/traces`, {
            method: 'POST',
            headers: PROTOBUF_TYPE,
            body: new Uint8Array(protoRequest(bad)),
          })
        ).arrayBuffer(),
      );
      assert.equal(bytes[0], 0x0a);
      assert.equal(bytes[2], 0x08);
      assert.equal(bytes[3], 1);
      assert.match(bytes.toString('utf8'), /spanId must be 8 bytes \(16 hex digits\); got 9 bytes/);
      assert.equal((await runOf(trace)).eventCount, 3);
    },
  );

  await t.test('the largest 64-bit time is stored exactly, in the year 2554', async () => {
    const trace = nextTraceHex();
    const span = protoSpan({
      traceId: Buffer.from(trace, 'hex'),
      spanId: Buffer.from('ab'.repeat(8), 'hex'),
      name: 'far future',
      startNs: START_NS,
      endNs: 2n ** 64n - 1n,
    });
    const answer = await post(PROTOBUF_TYPE, protoRequest(span));
    assert.equal(answer.status, 200);
    assert.equal(answer.text, '', 'full success is an empty ExportTraceServiceResponse');
    const events = (await api<AgentEvent[]>(server.url, `/api/runs/otel-${trace}/events`)).body;
    assert.equal(events.at(-1)!.ts, '2554-07-21T23:34:33.709551615Z');
  });

  await t.test('unknown fields are ignored, in JSON and in protobuf', async () => {
    const jsonTrace = nextTraceHex();
    const withUnknown = {
      resourceSpans: [
        {
          futureField: { nested: [1, 2] },
          resource: { attributes: [], entityRefs: [{ type: 'x' }] },
          scopeSpans: [
            {
              scope: { name: 's', somethingNew: true },
              spans: [jsonSpan(jsonTrace, { brandNew: 'yes', status: { code: 0, extra: 1 } })],
            },
          ],
        },
      ],
      alsoNew: 42,
    };
    const json = await post(JSON_TYPE, JSON.stringify(withUnknown));
    assert.equal(json.status, 200, json.text);
    assert.deepEqual(json.body, {});
    assert.equal((await runOf(jsonTrace)).eventCount, 3);

    const protoTrace = nextTraceHex();
    const unknown = [pb.varint(90, 5), pb.fixed64(91, 7n), pb.bytes(92, 'x'), pb.fixed32(93, 9)];
    const span = goodProtoSpan(protoTrace, unknown);
    const body = pb.message(1, ...unknown, pb.message(2, ...unknown, pb.bytes(2, span)));
    const proto = await post(PROTOBUF_TYPE, Buffer.concat([body, ...unknown]));
    assert.equal(proto.status, 200, proto.text);
    assert.equal((await runOf(protoTrace)).eventCount, 3);
  });

  await t.test('a span name over 200 characters is cut to 200, not refused', async () => {
    const trace = nextTraceHex();
    const answer = await post(
      JSON_TYPE,
      JSON.stringify(jsonRequest(jsonSpan(trace, { name: 'n'.repeat(5000) }))),
    );
    assert.equal(answer.status, 200, answer.text);
    const run = await runOf(trace);
    assert.equal(run.title, `${'n'.repeat(199)}…`);
    const events = (await api<AgentEvent[]>(server.url, `/api/runs/${run.id}/events`)).body;
    assert.equal(events[0]!.payload.name, run.title);
  });

  await t.test('10,000 spans in one request are all stored', async () => {
    const trace = nextTraceHex();
    const spans = [jsonSpan(trace, { spanId: '1'.repeat(16), name: 'invoke_agent many' })];
    for (let i = 1; i < 10_000; i++) {
      spans.push(
        jsonSpan(trace, {
          spanId: (i + 0x1000_0000).toString(16).padStart(16, '0'),
          parentSpanId: '1'.repeat(16),
          name: `step ${i}`,
          attributes: [{ key: 'i', value: { intValue: String(i) } }],
        }),
      );
    }
    const answer = await post(JSON_TYPE, JSON.stringify(jsonRequest(...spans)));
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.body, {});
    const run = await runOf(trace);
    assert.equal(run.eventCount, 20_001);
    assert.equal(run.title, 'invoke_agent many');
  });

  await t.test('the server is still up afterwards', async () => {
    assert.equal((await api(server.url, '/health')).status, 200);
  });
});
