// A small agent trace made with the real OpenTelemetry SDK, following the GenAI conventions: an
// agent, two llm calls with usage, a tool call, a failing tool call with a span under it. Spans are
// kept in memory so a test can send them with any real exporter, as often as it likes.
import { SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/** The trace's first instant; every span is placed at a fixed offset from it. */
export const T0_MS = Date.parse('2026-01-02T03:04:05.000Z');
export const SERVICE_NAME = 'coder-agent';

export interface AgentTrace {
  spans: ReadableSpan[];
  traceId: string;
  /** Span ids by the names used below. */
  ids: Record<'root' | 'chat1' | 'read' | 'bash' | 'lint' | 'chat2', string>;
}

export function makeAgentTrace(): AgentTrace {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('agent-ops-test');
  const at = (ms: number) => T0_MS + ms;
  const under = (parent: Span) => trace.setSpan(context.active(), parent);

  const root = tracer.startSpan('invoke_agent coder', {
    startTime: at(0),
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'coder' },
  });
  const chat1 = tracer.startSpan(
    'chat claude-sonnet-4',
    {
      kind: SpanKind.CLIENT,
      startTime: at(100),
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'claude-sonnet-4',
        'gen_ai.usage.input_tokens': 1200,
        'gen_ai.usage.output_tokens': 340,
      },
    },
    under(root),
  );
  chat1.end(at(1100));
  const read = tracer.startSpan(
    'execute_tool read_file',
    {
      startTime: at(1200),
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'read_file',
        'gen_ai.tool.call.id': 'call_1',
        'gen_ai.tool.call.arguments': '{"path":"src/a.ts"}',
      },
    },
    under(root),
  );
  read.end(at(1250));
  const bash = tracer.startSpan(
    'execute_tool bash',
    {
      startTime: at(1300),
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'bash',
        'gen_ai.tool.call.id': 'call_2',
        'error.type': 'ExitCode',
      },
    },
    under(root),
  );
  const lint = tracer.startSpan('task lint', { startTime: at(1400) }, under(bash));
  lint.end(at(2000));
  bash.setStatus({ code: SpanStatusCode.ERROR, message: 'exit status 1' });
  bash.end(at(2300));
  const chat2 = tracer.startSpan(
    'chat claude-sonnet-4',
    {
      kind: SpanKind.CLIENT,
      startTime: at(2400),
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'claude-sonnet-4',
        'gen_ai.usage.input_tokens': 800,
        'gen_ai.usage.output_tokens': 120,
      },
    },
    under(root),
  );
  chat2.end(at(4900));
  root.end(at(5000));

  const spanId = (span: Span) => span.spanContext().spanId;
  return {
    spans: memory.getFinishedSpans(),
    traceId: root.spanContext().traceId,
    ids: {
      root: spanId(root),
      chat1: spanId(chat1),
      read: spanId(read),
      bash: spanId(bash),
      lint: spanId(lint),
      chat2: spanId(chat2),
    },
  };
}

/** Sends spans with a real exporter; rejects with the exporter's error when it fails. */
export function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve, reject) =>
    exporter.export(spans, (result) =>
      result.code === 0 ? resolve() : reject(result.error ?? new Error('export failed')),
    ),
  );
}
