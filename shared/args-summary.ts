// A one-line summary of a tool call's arguments, so two calls of one tool read differently
// (`Bash npm test` vs `Bash npm run lint`) in the Trace tab and in `agent-ops compare`.
import { isObject } from './validate.ts';

/** Summaries are cut to this many characters. */
export const ARGS_SUMMARY_MAX_CHARS = 120;

/** The argument that says most about a call, by the names agents' tools use. */
const TELLING_KEYS = [
  'command',
  'cmd',
  'pattern',
  'query',
  'file_path',
  'filePath',
  'path',
  'url',
  'description',
  'prompt',
  'name',
];

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export function argsSummary(args: unknown, max = ARGS_SUMMARY_MAX_CHARS): string {
  if (args === undefined || args === null) return '';
  const plain = scalar(args);
  if (plain !== undefined) return oneLine(plain, max);
  if (!isObject(args)) return oneLine(JSON.stringify(args) ?? '', max);
  for (const key of TELLING_KEYS) {
    const value = scalar(args[key]);
    if (value !== undefined && value !== '') return oneLine(value, max);
  }
  const parts: string[] = [];
  for (const [key, value] of Object.entries(args)) {
    const text = scalar(value) ?? JSON.stringify(value);
    parts.push(`${key}=${text}`);
    if (parts.join(' ').length > max) break;
  }
  return oneLine(parts.join(' '), max);
}
