// The command's output read into events: each line an `agent.stdout` / `agent.stderr` event
// (merged past the throttle's rate, cut in pieces past 64 KiB), or with --format jsonl / claude
// the events a stdout line describes; the end of stderr is kept for run.error.
import type { EventInput } from '../shared/types.ts';
import { ClaudeStream } from './claude-stream.ts';
import type { EventSender } from './event-sender.ts';
import { cutLine, MAX_LINE_BYTES, type LinePiece } from './line-splitter.ts';
import { OutputThrottle, type OutputStream } from './output-throttle.ts';
import { parseEventLine } from './parse-event-line.ts';

export const EXEC_FORMATS = ['text', 'jsonl', 'claude'] as const;
export type ExecFormat = (typeof EXEC_FORMATS)[number];

/** A structured line (jsonl, claude) may be this long and still be read as one event. */
export const MAX_STRUCTURED_LINE_BYTES = 8 * 1024 * 1024;
/** How much of the end of stderr a failed run keeps in run.error. */
export const STDERR_TAIL_LINES = 20;
export const STDERR_TAIL_CHARS = 4_000;

export interface OutputEventsOptions {
  runId: string;
  format: ExecFormat;
  sender: EventSender;
  /** Redacts a line of output (or returns it as it is under --no-redact). */
  scrub(text: string): string;
  /** Redacts and caps the strings of an event or of metadata. */
  clean<T>(value: T): T;
  /** Sends an event, unless delivery has already failed. */
  deliver(event: EventInput): void;
}

export class OutputEvents {
  /** Reads Claude Code's stream-json, with --format claude. */
  readonly claude: ClaudeStream | undefined;
  readonly #options: OutputEventsOptions;
  readonly #throttle: OutputThrottle;
  readonly #stderrTail: string[] = [];
  readonly #lineCounts = { stdout: 0, stderr: 0 };
  readonly #continuing = { stdout: false, stderr: false };

  constructor(options: OutputEventsOptions) {
    this.#options = options;
    this.claude = options.format === 'claude' ? new ClaudeStream() : undefined;
    this.#throttle = new OutputThrottle(({ stream, line, text, partial, merged }) =>
      options.deliver({
        type: `agent.${stream}`,
        payload: {
          line,
          text,
          ...(partial ? { partial: true } : {}),
          ...(merged ? { merged } : {}),
        },
      }),
    );
  }

  /** How long a line of this stream may be before it is cut in pieces. */
  maxLineBytes(stream: OutputStream): number {
    return stream === 'stdout' && this.#options.format !== 'text'
      ? MAX_STRUCTURED_LINE_BYTES
      : MAX_LINE_BYTES;
  }

  /** Any event other than an output line: what is being merged goes first, to keep the order. */
  post(event: EventInput): void {
    this.#throttle.flush();
    this.#options.deliver(this.#options.clean(event));
  }

  /** Sends the output lines being merged. */
  flush(): void {
    this.#throttle.flush();
  }

  /** The last lines of stderr, as run.error keeps them. */
  get stderrTail(): string {
    return this.#stderrTail.join('\n').slice(-STDERR_TAIL_CHARS);
  }

  /** A line (or a piece of a long one) the command printed. */
  push(stream: OutputStream, piece: LinePiece): void {
    const { format, scrub } = this.#options;
    const wasContinuing = this.#continuing[stream];
    this.#continuing[stream] = piece.partial;
    const line = wasContinuing ? this.#lineCounts[stream] : ++this.#lineCounts[stream];
    if (stream === 'stdout' && format !== 'text' && !wasContinuing && !piece.partial) {
      if (this.#structured(piece.bytes.toString('utf8'))) return;
    }
    const tail = this.#stderrTail;
    for (const part of cutLine(piece.bytes, MAX_LINE_BYTES, piece.partial)) {
      // Not UTF-8? Every bad byte becomes U+FFFD: the text is always valid, never a crash.
      const raw = part.bytes.toString('utf8');
      const text = scrub(raw);
      if (stream === 'stderr') {
        if (wasContinuing && tail.length > 0) tail[tail.length - 1] += text;
        else tail.push(text);
        if (tail.length > STDERR_TAIL_LINES) tail.shift();
      }
      this.#throttle.push({ stream, line, text, ...(part.partial ? { partial: true } : {}) });
    }
  }

  /** Posts the events a jsonl / claude line describes; false when it describes none. */
  #structured(text: string): boolean {
    const { format, runId, sender, clean } = this.#options;
    if (format === 'jsonl') {
      const event = parseEventLine(text, runId);
      if (event) this.post(event);
      return event !== undefined;
    }
    const translation = this.claude?.translate(text);
    if (!translation) return false;
    for (const event of translation.events) this.post(event);
    if (translation.metadata && !sender.error) {
      this.#throttle.flush();
      sender.patch({ metadata: clean(translation.metadata) });
    }
    return true;
  }
}
