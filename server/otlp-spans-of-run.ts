// What a run and its spans become in OTLP (docs/protocol.md, "OpenTelemetry out"), following the
// GenAI semantic conventions: the run is the root span `invoke_agent <title>`, a tool call
// `execute_tool <toolName>`, an llm span `chat <model>`, usage `gen_ai.usage.*`, an error status 2
// with `error.type`; the run's id, status and metadata are attributes of the root.
import { ERROR_TYPE_ATTRIBUTE, GEN_AI, OTEL_SPAN_KIND, OTEL_STATUS_CODE } from '../shared/otlp.ts';
import type { Span, SpanTree } from '../shared/span-tree.ts';
import type { Run } from '../shared/types.ts';
import type { Usage } from '../shared/usage.ts';
import type { OutgoingSpan } from './encode-otlp-json.ts';
import type { RunIds } from './otlp-ids.ts';

const NANOS_PER_MS = 1_000_000n;
/** error.type's value when nothing names the kind of error (its semantic-convention fallback). */
const OTHER_ERROR_TYPE = '_OTHER';
/** Our own attributes are namespaced, as OTel asks of non-standard names. */
export const RUN_ID_ATTRIBUTE = 'agent_ops.run.id';
export const RUN_STATUS_ATTRIBUTE = 'agent_ops.run.status';
export const RUN_METADATA_PREFIX = 'agent_ops.run.metadata.';
export const SPAN_KIND_ATTRIBUTE = 'agent_ops.span.kind';
export const UNFINISHED_ATTRIBUTE = 'agent_ops.span.unfinished';
export const COST_ATTRIBUTE = 'agent_ops.usage.cost_usd';

function nanos(ms: number): bigint {
  return BigInt(Math.trunc(ms)) * NANOS_PER_MS;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function addUsage(attributes: Record<string, unknown>, usage: Usage | undefined): void {
  if (!usage) return;
  if (usage.inputTokens !== undefined) attributes[GEN_AI.inputTokens] = usage.inputTokens;
  if (usage.outputTokens !== undefined) attributes[GEN_AI.outputTokens] = usage.outputTokens;
  if (usage.cacheReadTokens !== undefined)
    attributes[GEN_AI.cacheReadTokens] = usage.cacheReadTokens;
  if (usage.costUsd !== undefined) attributes[COST_ATTRIBUTE] = usage.costUsd;
}

/** The run's time span: from its start (or its first span's) to its last event (or last span's end). */
function runBounds(run: Run, spans: readonly Span[]): [number, number] {
  let start = Date.parse(run.startedAt);
  let end = Date.parse(run.lastEventAt ?? run.endedAt ?? run.updatedAt);
  for (const span of spans) {
    start = Math.min(start, span.startTs);
    end = Math.max(end, span.endTs ?? span.startTs);
  }
  return [start, Math.max(start, end)];
}

/** The root span `invoke_agent <title>`; sent once the run has ended. */
export function rootSpanOf(
  run: Run,
  tree: SpanTree,
  spans: readonly Span[],
  ids: RunIds,
): OutgoingSpan {
  const [start, end] = runBounds(run, spans);
  const attributes: Record<string, unknown> = {
    [GEN_AI.operationName]: 'invoke_agent',
    [GEN_AI.agentName]: run.title,
    [RUN_ID_ATTRIBUTE]: run.id,
    [RUN_STATUS_ATTRIBUTE]: run.status,
  };
  for (const [key, value] of Object.entries(run.metadata))
    attributes[RUN_METADATA_PREFIX + key] = value;
  addUsage(attributes, tree.usage);
  const failed = run.status === 'error';
  if (failed) attributes[ERROR_TYPE_ATTRIBUTE] = OTHER_ERROR_TYPE;
  return {
    traceId: ids.traceId,
    spanId: ids.rootSpanId,
    parentSpanId: '',
    name: `invoke_agent ${run.title}`,
    kind: OTEL_SPAN_KIND.internal,
    startNs: nanos(start),
    endNs: nanos(end),
    attributes,
    status: failed
      ? { code: OTEL_STATUS_CODE.error, message: run.errorMessage ?? 'run failed' }
      : { code: OTEL_STATUS_CODE.unset },
  };
}

/** One of the run's spans. `endMs` closes a span that never ended (sent when its run ends). */
export function spanOf(run: Run, span: Span, ids: RunIds, endMs?: number): OutgoingSpan {
  const attributes: Record<string, unknown> = {};
  const { toolName, args, ...rest } = span.attrs;
  Object.assign(attributes, span.kind === 'tool' ? rest : span.attrs);
  attributes[SPAN_KIND_ATTRIBUTE] = span.kind;
  let name = span.name;
  let kind: number = OTEL_SPAN_KIND.internal;
  if (span.kind === 'tool') {
    const tool = text(toolName) ?? span.name;
    name = `execute_tool ${tool}`;
    attributes[GEN_AI.operationName] = 'execute_tool';
    attributes[GEN_AI.toolName] = tool;
    attributes[GEN_AI.toolCallId] = span.spanId;
  } else if (span.kind === 'llm') {
    const model =
      span.usage?.model ?? text(span.attrs[GEN_AI.requestModel]) ?? text(span.attrs.model);
    name = model === undefined ? 'chat' : `chat ${model}`;
    kind = OTEL_SPAN_KIND.client;
    attributes[GEN_AI.operationName] = 'chat';
    if (model !== undefined) attributes[GEN_AI.requestModel] = model;
  } else if (span.kind === 'agent') {
    if (!name.startsWith('invoke_agent')) name = `invoke_agent ${name}`;
    attributes[GEN_AI.operationName] = 'invoke_agent';
    attributes[GEN_AI.agentName] = span.name.replace(/^invoke_agent /, '');
  }
  addUsage(attributes, span.usage);
  const failed = span.status === 'error';
  if (failed)
    attributes[ERROR_TYPE_ATTRIBUTE] = text(span.attrs[ERROR_TYPE_ATTRIBUTE]) ?? OTHER_ERROR_TYPE;
  const unfinished = span.endTs === undefined;
  if (unfinished) attributes[UNFINISHED_ATTRIBUTE] = true;
  return {
    traceId: ids.traceId,
    spanId: ids.span(span.spanId),
    // A parent still to come is named all the same: its id is derived, not looked up.
    parentSpanId: span.parentSpanId === null ? ids.rootSpanId : ids.span(span.parentSpanId),
    name,
    kind,
    startNs: nanos(span.startTs),
    endNs: nanos(Math.max(span.startTs, span.endTs ?? endMs ?? span.startTs)),
    attributes,
    status: failed
      ? { code: OTEL_STATUS_CODE.error, message: span.error ?? 'error' }
      : { code: OTEL_STATUS_CODE.unset },
  };
}
