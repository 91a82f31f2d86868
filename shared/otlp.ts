// OpenTelemetry names agent-ops speaks in both directions: the OTLP/HTTP trace route, the enums of
// trace.proto, the GenAI semantic-convention attributes, and how our runs and spans map onto them.

/** OTLP/HTTP's default path for traces; we serve it and send to `<endpoint>/v1/traces`. */
export const OTLP_TRACES_PATH = '/v1/traces';

export const OTLP_JSON_TYPE = 'application/json';
export const OTLP_PROTOBUF_TYPE = 'application/x-protobuf';

/** trace.proto `Span.SpanKind`. */
export const OTEL_SPAN_KIND = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
} as const;

/** trace.proto `Status.StatusCode`. */
export const OTEL_STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const;

/** GenAI semantic-convention attribute names. */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  agentName: 'gen_ai.agent.name',
  agentId: 'gen_ai.agent.id',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolCallArguments: 'gen_ai.tool.call.arguments',
  toolCallResult: 'gen_ai.tool.call.result',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
} as const;

/** `gen_ai.operation.name` values that make a span an agent or an llm call. */
export const AGENT_OPERATIONS = ['invoke_agent', 'create_agent'] as const;
export const LLM_OPERATIONS = [
  'chat',
  'text_completion',
  'generate_content',
  'embeddings',
] as const;
export const TOOL_OPERATION = 'execute_tool';

export const ERROR_TYPE_ATTRIBUTE = 'error.type';
export const SERVICE_NAME_ATTRIBUTE = 'service.name';

/** A trace that comes in becomes the run `otel-<traceId>`. */
export const OTEL_RUN_PREFIX = 'otel-';

/** Trace ids are 16 bytes, span ids 8, written as lowercase hex in OTLP JSON. */
export const TRACE_ID_BYTES = 16;
export const SPAN_ID_BYTES = 8;
