// `exec --format claude`: turns Claude Code's `--output-format stream-json` lines into run events.
// `system`/`init` announces the run; `assistant` messages carry text and `tool_use` blocks
// (tool.called); `user` messages carry `tool_result` blocks (tool.result, paired by the tool_use
// id and timed between the two lines); the final `result` line reports usage and cost and decides
// how the run ends. A line of any other shape is left to be posted as plain output.
// Traces: each assistant message (one API call, however many lines it is printed as) is an `llm`
// span with its model and token usage, from the previous line of its agent to its arrival; a
// subagent's messages carry `parent_tool_use_id`, so its turns and tool calls nest under the Task
// call that started it. The result line's cost, and whatever tokens the turns did not report, go
// in one last usage report, so the run's usage totals are the result line's.
import { SPAN_ENDED, SPAN_STARTED, USAGE_REPORT } from '../shared/span-events.ts';
import type { EventInput, JsonObject } from '../shared/types.ts';
import { isObject } from '../shared/validate.ts';

export interface ClaudeOutcome {
  status: 'completed' | 'error';
  message: string;
  payload: JsonObject;
}

export interface ClaudeTranslation {
  events: EventInput[];
  /** Merged into the run's metadata. */
  metadata?: JsonObject;
}

interface OpenCall {
  toolName: string;
  startedAtMs: number;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Only the fields that have a value. */
function defined(fields: Record<string, unknown>): JsonObject {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) result[key] = value;
  return result;
}

/** A tool_result's content: a string, or blocks of which the text ones are kept. */
function contentText(content: unknown): unknown {
  if (!Array.isArray(content)) return content;
  return content
    .map((block) => {
      if (!isObject(block)) return '';
      if (block.type === 'text') return str(block.text) ?? '';
      return `[${str(block.type) ?? 'block'}]`;
    })
    .join('\n');
}

/** The spanId of an assistant message's llm span. */
export function llmSpanId(messageId: string): string {
  return `llm:${messageId}`;
}

/** Where the main agent's timing is kept in `#lastLineMs` (a subagent's key is its Task call id). */
const MAIN_AGENT = '';

interface TurnTokens {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
}

export class ClaudeStream {
  #calls = new Map<string, OpenCall>();
  /** Wall clock = this + performance.now(); the translation is timed on the monotonic clock. */
  #wallOffsetMs = Date.now() - performance.now();
  /** Per agent, when its last line arrived: the earliest its next API call can have started. */
  #lastLineMs = new Map<string, number>();
  #messages = new Set<string>();
  /** What the turns' usage reports added up to, so the result line reports only the rest. */
  #turns: TurnTokens = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0 };
  #model: string | undefined;
  #sessionId: string | undefined;
  /** Set by the result line: how the run ends, whatever the process's exit code. */
  outcome: ClaudeOutcome | undefined;

  /** The events one line stands for, or undefined when it is not a line this format knows. */
  translate(text: string, nowMs = performance.now()): ClaudeTranslation | undefined {
    const trimmed = text.trim();
    if (!trimmed.startsWith('{')) return undefined;
    let line: unknown;
    try {
      line = JSON.parse(trimmed);
    } catch {
      return undefined;
    }
    if (!isObject(line)) return undefined;
    const parent = str(line.parent_tool_use_id);
    const extra = parent === undefined ? {} : { parentSpanId: parent };
    const agent = parent ?? MAIN_AGENT;
    const since = this.#lastLineMs.get(agent) ?? this.#lastLineMs.get(MAIN_AGENT) ?? nowMs;
    if (line.type === 'system' || line.type === 'assistant' || line.type === 'user')
      this.#lastLineMs.set(agent, nowMs);
    switch (line.type) {
      case 'system':
        return line.subtype === 'init' ? this.#init(line) : undefined;
      case 'assistant':
        return this.#assistant(line, nowMs, extra, since);
      case 'user':
        return this.#user(line, nowMs, extra);
      case 'result':
        return this.#result(line);
      default:
        return undefined;
    }
  }

  #iso(monotonicMs: number): string {
    return new Date(this.#wallOffsetMs + monotonicMs).toISOString();
  }

  /** The llm span of an assistant message, the first time one of its lines arrives. */
  #turn(message: JsonObject, nowMs: number, extra: JsonObject, sinceMs: number): EventInput[] {
    const messageId = str(message.id);
    if (messageId === undefined || this.#messages.has(messageId)) return [];
    this.#messages.add(messageId);
    const spanId = llmSpanId(messageId);
    const model = str(message.model) ?? this.#model;
    const events: EventInput[] = [
      {
        type: SPAN_STARTED,
        ts: this.#iso(Math.min(sinceMs, nowMs)),
        payload: defined({
          spanId,
          ...extra,
          name: model ?? 'assistant turn',
          kind: 'llm',
          attributes: defined({ model, messageId }),
        }),
      },
      { type: SPAN_ENDED, ts: this.#iso(nowMs), payload: { spanId, status: 'ok' } },
    ];
    const usage = isObject(message.usage) ? message.usage : undefined;
    if (usage) {
      const tokens: TurnTokens = {
        inputTokens: num(usage.input_tokens) ?? 0,
        outputTokens: num(usage.output_tokens) ?? 0,
        cacheReadTokens: num(usage.cache_read_input_tokens) ?? 0,
      };
      for (const field of Object.keys(tokens) as Array<keyof TurnTokens>)
        this.#turns[field] += tokens[field];
      events.push({
        type: USAGE_REPORT,
        payload: defined({ spanId, reportId: spanId, ...tokens, model }),
      });
    }
    return events;
  }

  #init(line: JsonObject): ClaudeTranslation {
    this.#sessionId = str(line.session_id);
    this.#model = str(line.model);
    const payload = defined({
      message: `Claude Code session started${this.#model ? ` (${this.#model})` : ''}`,
      sessionId: this.#sessionId,
      model: this.#model,
      cwd: str(line.cwd),
      tools: Array.isArray(line.tools) ? line.tools : undefined,
      permissionMode: str(line.permissionMode),
      claudeCodeVersion: str(line.claude_code_version),
    });
    return {
      events: [{ type: 'run.started', payload }],
      metadata: defined({ sessionId: this.#sessionId, model: this.#model }),
    };
  }

  #assistant(
    line: JsonObject,
    nowMs: number,
    extra: JsonObject,
    sinceMs: number,
  ): ClaudeTranslation | undefined {
    const message = line.message;
    if (!isObject(message) || !Array.isArray(message.content)) return undefined;
    const events: EventInput[] = this.#turn(message, nowMs, extra, sinceMs);
    for (const block of message.content) {
      if (!isObject(block)) continue;
      if (block.type === 'text' && typeof block.text === 'string') {
        events.push({
          type: 'agent.message',
          payload: { role: 'assistant', text: block.text, ...extra },
        });
      } else if (block.type === 'thinking' && typeof block.thinking === 'string') {
        events.push({
          type: 'agent.thinking',
          level: 'debug',
          payload: { text: block.thinking, ...extra },
        });
      } else if (block.type === 'tool_use' && typeof block.id === 'string') {
        const toolName = str(block.name) ?? 'unknown';
        this.#calls.set(block.id, { toolName, startedAtMs: nowMs });
        events.push({
          type: 'tool.called',
          payload: defined({ toolName, toolCallId: block.id, args: block.input, ...extra }),
        });
      }
    }
    return events.length > 0 ? { events } : undefined;
  }

  #user(line: JsonObject, nowMs: number, extra: JsonObject): ClaudeTranslation | undefined {
    const message = line.message;
    if (!isObject(message)) return undefined;
    if (typeof message.content === 'string') {
      return {
        events: [
          { type: 'agent.message', payload: { role: 'user', text: message.content, ...extra } },
        ],
      };
    }
    if (!Array.isArray(message.content)) return undefined;
    const events: EventInput[] = [];
    for (const block of message.content) {
      if (!isObject(block)) continue;
      if (block.type === 'text' && typeof block.text === 'string') {
        events.push({
          type: 'agent.message',
          payload: { role: 'user', text: block.text, ...extra },
        });
      } else if (block.type === 'tool_result' && typeof block.tool_use_id === 'string') {
        const call = this.#calls.get(block.tool_use_id);
        this.#calls.delete(block.tool_use_id);
        const failed = block.is_error === true;
        const content = contentText(block.content);
        events.push({
          type: 'tool.result',
          ...(failed ? { level: 'warn' as const } : {}),
          payload: defined({
            toolName: call?.toolName ?? 'unknown',
            toolCallId: block.tool_use_id,
            ...(failed ? { error: content ?? 'the tool failed' } : { result: content }),
            duration: call ? Math.round(nowMs - call.startedAtMs) : undefined,
            ...extra,
          }),
        });
      }
    }
    return events.length > 0 ? { events } : undefined;
  }

  #result(line: JsonObject): ClaudeTranslation {
    const usage = isObject(line.usage) ? line.usage : {};
    const inputTokens = num(usage.input_tokens);
    const outputTokens = num(usage.output_tokens);
    // Older Claude Code versions call it cost_usd.
    const costUsd = num(line.total_cost_usd) ?? num(line.cost_usd);
    const numTurns = num(line.num_turns);
    const durationMs = num(line.duration_ms);
    this.#sessionId ??= str(line.session_id);
    const subtype = str(line.subtype) ?? 'unknown';
    const failed = line.is_error === true || subtype !== 'success';
    const resultText = str(line.result);
    this.outcome = {
      status: failed ? 'error' : 'completed',
      message: failed ? resultText || `Claude Code ended with ${subtype}` : 'Claude Code finished',
      payload: defined({ subtype, result: resultText, numTurns, durationMs, costUsd }),
    };
    // The turns reported their own tokens; this report brings the totals up to the result's.
    const rest = (total: number | undefined, reported: number) =>
      total !== undefined && total > reported ? total - reported : undefined;
    return {
      events: [
        {
          type: USAGE_REPORT,
          payload: defined({
            inputTokens: rest(inputTokens, this.#turns.inputTokens),
            outputTokens: rest(outputTokens, this.#turns.outputTokens),
            cacheReadTokens: rest(num(usage.cache_read_input_tokens), this.#turns.cacheReadTokens),
            costUsd,
            model: this.#model,
          }),
        },
      ],
      metadata: defined({
        costUsd,
        inputTokens,
        outputTokens,
        numTurns,
        durationMs,
        model: this.#model,
        sessionId: this.#sessionId,
      }),
    };
  }
}
