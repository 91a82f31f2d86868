// The answers OTLP/HTTP gives, in the encoding of the request: ExportTraceServiceResponse
// (with partial_success when spans were refused) on success, google.rpc.Status on failure.
import type { ServerResponse } from 'node:http';
import { OTLP_JSON_TYPE, OTLP_PROTOBUF_TYPE } from '../shared/otlp.ts';

export type OtlpEncoding = 'json' | 'protobuf';

function varint(value: number): number[] {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return bytes;
}

/** A length-delimited field. */
function lengthField(field: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(body.length)]), body]);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.from([field << 3, ...varint(value)]);
}

function send(
  res: ServerResponse,
  status: number,
  encoding: OtlpEncoding,
  body: Buffer,
  headers = {},
) {
  res.writeHead(status, {
    'content-type': encoding === 'json' ? OTLP_JSON_TYPE : OTLP_PROTOBUF_TYPE,
    'content-length': body.length,
    ...headers,
  });
  res.end(body);
}

/** 200, with partialSuccess {rejectedSpans, errorMessage} when some spans were refused. */
export function sendExportAnswer(
  res: ServerResponse,
  encoding: OtlpEncoding,
  rejectedSpans: number,
  errorMessage: string,
): void {
  const partial = rejectedSpans > 0 || errorMessage !== '';
  if (encoding === 'json') {
    // int64 fields are decimal strings in the proto3 JSON mapping.
    const answer = partial
      ? { partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } }
      : {};
    send(res, 200, encoding, Buffer.from(JSON.stringify(answer)));
    return;
  }
  if (!partial) return send(res, 200, encoding, Buffer.alloc(0));
  const partialSuccess = Buffer.concat([
    rejectedSpans > 0 ? varintField(1, rejectedSpans) : Buffer.alloc(0),
    errorMessage === '' ? Buffer.alloc(0) : lengthField(2, Buffer.from(errorMessage)),
  ]);
  send(res, 200, encoding, lengthField(1, partialSuccess));
}

/**
 * A failure as a google.rpc.Status (its `message`); in JSON it also carries our usual `error`
 * field, so the answer reads like every other agent-ops error.
 */
export function sendOtlpError(
  res: ServerResponse,
  encoding: OtlpEncoding,
  status: number,
  message: string,
  headers: Record<string, string>,
): void {
  const body =
    encoding === 'json'
      ? Buffer.from(JSON.stringify({ error: message, message }))
      : lengthField(2, Buffer.from(message));
  send(res, status, encoding, body, headers);
}
