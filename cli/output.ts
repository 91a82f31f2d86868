// Where text goes: human lines on stdout (stderr under --json, which keeps stdout for one JSON
// document or NDJSON), notes always on stderr, colour only for a terminal that wants it.

export type Style = 'green' | 'red' | 'yellow' | 'dim' | 'bold' | 'cyan';

const ANSI: Record<Style, [number, number]> = {
  green: [32, 39],
  red: [31, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
};

export interface Output {
  readonly json: boolean;
  /** A human line: stdout, or stderr under --json. */
  info(text: string): void;
  /** A diagnostic line, always on stderr. */
  note(text: string): void;
  /** The one JSON document of --json. */
  result(value: unknown): void;
  /** One NDJSON line (tail --json). */
  record(value: unknown): void;
  paint(style: Style, text: string): string;
}

export interface OutputOptions {
  json: boolean;
  noColor: boolean;
  env?: NodeJS.ProcessEnv;
}

export function createOutput({ json, noColor, env = process.env }: OutputOptions): Output {
  const human = json ? process.stderr : process.stdout;
  const color = !noColor && !env.NO_COLOR && human.isTTY === true;
  return {
    json,
    info: (text) => void human.write(`${text}\n`),
    note: (text) => void process.stderr.write(`${text}\n`),
    result: (value) => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    record: (value) => void process.stdout.write(`${JSON.stringify(value)}\n`),
    paint: (style, text) => {
      if (!color) return text;
      const [open, close] = ANSI[style];
      return `\u001b[${open}m${text}\u001b[${close}m`;
    },
  };
}
