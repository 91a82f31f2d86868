// Writes protobuf wire format by hand, so tests can build OTLP bodies that no real exporter would
// send: wrong id lengths, unknown fields, wrong wire types, truncations.

function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let rest = BigInt.asUintN(64, value);
  while (rest > 0x7fn) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return Buffer.from(bytes);
}

function key(field: number, wire: number): Buffer {
  return varint(BigInt(field * 8 + wire));
}

export const pb = {
  varint: (field: number, value: number | bigint) =>
    Buffer.concat([key(field, 0), varint(BigInt(value))]),
  fixed64: (field: number, value: bigint) => {
    const body = Buffer.alloc(8);
    body.writeBigUInt64LE(value);
    return Buffer.concat([key(field, 1), body]);
  },
  fixed32: (field: number, value: number) => {
    const body = Buffer.alloc(4);
    body.writeUInt32LE(value);
    return Buffer.concat([key(field, 5), body]);
  },
  bytes: (field: number, body: Buffer | string) => {
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    return Buffer.concat([key(field, 2), varint(BigInt(data.length)), data]);
  },
  message: (field: number, ...parts: Buffer[]) => pb.bytes(field, Buffer.concat(parts)),
  /** A raw tag, for wire types OTLP never uses. */
  tag: key,
};

export interface ProtoSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId?: Buffer;
  name: string;
  startNs: bigint;
  endNs: bigint;
  /** More fields of the Span message, appended as they are. */
  extra?: Buffer[];
}

export function protoSpan(span: ProtoSpan): Buffer {
  return Buffer.concat([
    pb.bytes(1, span.traceId),
    pb.bytes(2, span.spanId),
    ...(span.parentSpanId ? [pb.bytes(4, span.parentSpanId)] : []),
    pb.bytes(5, span.name),
    pb.varint(6, 1),
    pb.fixed64(7, span.startNs),
    pb.fixed64(8, span.endNs),
    ...(span.extra ?? []),
  ]);
}

/** An ExportTraceServiceRequest with one resource and one scope holding these span messages. */
export function protoRequest(...spans: Buffer[]): Buffer {
  return pb.message(1, pb.message(2, ...spans.map((span) => pb.bytes(2, span))));
}
