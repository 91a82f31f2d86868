// A worker's task: the command line its operator wrote (`claude -p {prompt} --verbose`), split
// into words the way a shell would split plain words and quotes, but never run by a shell. Each
// `{param}` is filled from a run's input; a word stays one argument whatever its value holds.
import { PARAM_NAME_PATTERN } from '../shared/constants.ts';
import type { TaskInput } from '../shared/types.ts';
import { quote } from '../shared/validate.ts';

/** `{name}` with a parameter's name; any other brace is the command's own (`() => {}`). */
const PLACEHOLDER = new RegExp(`\\{(${PARAM_NAME_PATTERN.source.slice(1, -1)})\\}`, 'g');

export class TaskInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskInputError';
  }
}

export interface TaskCommand {
  /** The words, placeholders still in them. */
  words: string[];
  /** Every placeholder name, in order of first use. */
  params: string[];
}

/** Splits a command line into words: spaces separate, '…' and "…" quote, \ escapes. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quoteChar: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quoteChar) {
      if (char === quoteChar) quoteChar = undefined;
      else if (char === '\\' && quoteChar === '"' && i + 1 < line.length) word += line[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quoteChar = char;
      word ??= '';
    } else if (char === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + char;
  }
  if (quoteChar) throw new Error(`unclosed ${quoteChar} in ${quote(line)}`);
  if (word !== undefined) words.push(word);
  return words;
}

export function parseTaskCommand(line: string): TaskCommand {
  const words = splitWords(line);
  if (words.length === 0) throw new Error(`the command is empty; got ${quote(line)}`);
  const params: string[] = [];
  for (const word of words) {
    for (const [, name] of word.matchAll(PLACEHOLDER))
      if (!params.includes(name!)) params.push(name!);
  }
  if (words[0]!.match(PLACEHOLDER))
    throw new Error(`the program itself cannot be a parameter; got ${quote(words[0])}`);
  return { words, params };
}

/** The program and its arguments for one run; a missing or unknown input is a TaskInputError. */
export function fillTaskCommand(
  task: string,
  command: TaskCommand,
  input: TaskInput,
): { program: string; args: string[] } {
  const unknown = Object.keys(input).filter((key) => !command.params.includes(key));
  if (unknown.length > 0) {
    const takes =
      command.params.length === 0 ? 'it takes none' : `it takes ${command.params.join(', ')}`;
    throw new TaskInputError(
      `task ${quote(task)} has no parameter ${unknown.map((key) => quote(key)).join(', ')}; ${takes}`,
    );
  }
  const missing = command.params.filter((name) => input[name] === undefined);
  if (missing.length > 0)
    throw new TaskInputError(
      `task ${quote(task)} needs a value for ${missing.map((name) => `{${name}}`).join(', ')} (input ${missing.map((name) => quote(name)).join(', ')}); got none`,
    );
  const [program, ...args] = command.words.map((word) =>
    word.replace(PLACEHOLDER, (_, name: string) => String(input[name])),
  );
  return { program: program!, args };
}
