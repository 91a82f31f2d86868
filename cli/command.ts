// What every subcommand module exports: its help text, its option table and what it does.
import type { OptionSpec, ParsedArgs } from './parse-args.ts';

export interface Command {
  name: string;
  /** One line for the Commands list. */
  summary: string;
  /** After "agent-ops ": `emit <runId> <type> [options]`. */
  usage: string;
  options: readonly OptionSpec[];
  examples: readonly string[];
  /** Paragraph lines shown before the examples: what a user must know beyond the options. */
  notes?: readonly string[];
  /** Resolves with the exit code. */
  run(args: ParsedArgs): Promise<number>;
}
