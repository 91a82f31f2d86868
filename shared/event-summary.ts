// The one-line summary of an event, the payload field a reader looks for first: the dashboard's
// timeline and `agent-ops tail` show the same words.
import { compactJson } from './compact-json.ts';
import { outputLineCount, STDERR_EVENT_TYPE, STDOUT_EVENT_TYPE } from './output-lines.ts';
import { SPAN_END_COMPAT, SPAN_ENDED, SPAN_START_COMPAT, SPAN_STARTED } from './span-events.ts';
import type { AgentEvent } from './types.ts';

const MAX_SUMMARY_CHARS = 300;

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export function summarize(event: Pick<AgentEvent, 'type' | 'payload'>): string {
  const p = event.payload;
  let summary: string | undefined;
  switch (event.type) {
    case 'tool.called':
      summary = `${text(p.toolName) ?? '(tool)'}(${p.args === undefined ? '' : compactJson(p.args, 160)})`;
      break;
    case 'tool.result': {
      const duration = typeof p.duration === 'number' ? ` in ${Math.round(p.duration)} ms` : '';
      const outcome =
        p.error !== undefined && p.error !== null && p.error !== false
          ? `failed: ${text(p.error) ?? compactJson(p.error, 120)}`
          : p.success === false
            ? 'failed'
            : p.result === undefined
              ? 'ok'
              : `→ ${compactJson(p.result, 160)}`;
      summary = `${text(p.toolName) ?? '(tool)'}${duration} ${outcome}`;
      break;
    }
    case 'metric':
      summary = `${text(p.name) ?? '(metric)'} = ${text(p.value) ?? compactJson(p.value)}${p.unit ? ` ${text(p.unit)}` : ''}`;
      break;
    case STDOUT_EVENT_TYPE:
    case STDERR_EVENT_TYPE: {
      // An event that merged many lines (`merged`): its first, and how many more the Console tab
      // shows. A single line that holds a newline is shown whole.
      const lines = typeof p.merged === 'number' && p.merged > 1 ? outputLineCount(event) : 1;
      const body = text(p.text);
      summary =
        lines > 1 && body !== undefined
          ? `${body.slice(0, body.indexOf('\n'))} +${(lines - 1).toLocaleString('en-US')} lines`
          : body;
      break;
    }
    case SPAN_STARTED:
    case SPAN_START_COMPAT: {
      // "name (kind) · spanId": what started, and the id its end will name.
      const name = text(p.name) ?? text(p.spanId) ?? '(span)';
      const kind = text(p.kind);
      summary = `${name}${kind ? ` (${kind})` : ''}${p.spanId !== undefined && p.spanId !== p.name ? ` · ${text(p.spanId) ?? ''}` : ''}`;
      break;
    }
    case SPAN_ENDED:
    case SPAN_END_COMPAT: {
      const error = p.error === undefined ? '' : `: ${text(p.error) ?? compactJson(p.error, 120)}`;
      summary = `${text(p.spanId) ?? '(span)'} ended${p.status ? ` ${text(p.status)}` : ''}${error}`;
      break;
    }
    case 'agent.exit':
      summary = `exit code ${text(p.code) ?? '—'}${p.signal ? `, signal ${text(p.signal)}` : ''}`;
      break;
    case 'usage.report': {
      const parts: string[] = [];
      if (typeof p.inputTokens === 'number') parts.push(`${p.inputTokens} in`);
      if (typeof p.outputTokens === 'number') parts.push(`${p.outputTokens} out`);
      if (typeof p.costUsd === 'number') parts.push(`$${p.costUsd.toFixed(4)}`);
      summary = parts.join(' · ') || undefined;
      break;
    }
  }
  if (summary === undefined && typeof p.metricName === 'string' && p.value !== undefined) {
    const message = text(p.message);
    summary = `${message ? `${message} · ` : ''}${p.metricName} = ${compactJson(p.value, 60)}`;
  }
  summary ??= text(p.message) ?? text(p.error) ?? text(p.text);
  if (summary === undefined && typeof p.taskName === 'string') {
    summary = [p.taskName, text(p.status), text(p.result)].filter(Boolean).join(' · ');
  }
  summary ??= Object.keys(p).length === 0 ? '' : compactJson(p, MAX_SUMMARY_CHARS);
  return summary.length > MAX_SUMMARY_CHARS
    ? `${summary.slice(0, MAX_SUMMARY_CHARS - 1)}…`
    : summary;
}
