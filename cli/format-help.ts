// The one help layout every command shares: Usage, Commands (top level only), Options with
// their defaults, Notes (where a command has them), Examples.
import { VERSION } from '../shared/constants.ts';
import { formatDuration } from '../shared/parse-duration.ts';
import type { Command } from './command.ts';
import type { OptionSpec } from './parse-args.ts';

function flagsOf(option: OptionSpec): string {
  const flags = option.flags.join(', ');
  return option.type === 'boolean' ? flags : `${flags} <${option.valueName ?? 'value'}>`;
}

function describe(option: OptionSpec): string {
  if (option.default === undefined || option.type === 'boolean') return option.description;
  const shown =
    typeof option.default === 'string'
      ? JSON.stringify(option.default)
      : option.type === 'duration'
        ? formatDuration(Number(option.default))
        : String(option.default);
  return `${option.description} (default ${shown})`;
}

function columns(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

export interface TopLevel {
  summary: string;
  usages: readonly string[];
  commands: ReadonlyArray<{ name: string; summary: string }>;
  /** The options that may also come before the command word. */
  globalOptions: readonly OptionSpec[];
}

/** A command's help; with `top`, the top-level help (the runner's options plus every command). */
export function formatHelp(command: Command, top?: TopLevel): string {
  const usages = top ? top.usages : [command.usage];
  const lines = [
    `agent-ops ${VERSION}: ${top ? top.summary : command.summary}`,
    '',
    'Usage',
    ...usages.map((usage) => `  $ agent-ops ${usage}`),
  ];
  if (top) {
    const { commands } = top;
    lines.push(
      '',
      'Commands',
      ...columns(commands.map(({ name, summary }) => [name, summary] as const)),
    );
    // The kebab-case spelling where there are two (`--api-key`, not `--apiKey`).
    const globals = top.globalOptions
      .map(({ flags }) => flags.find((flag) => flag.slice(2).includes('-')) ?? flags[0])
      .join(', ');
    lines.push(
      '',
      "Run `agent-ops <command> --help` for a command's options. These may also come before the",
      `command (agent-ops --server <url> ls): ${globals}.`,
    );
  }
  lines.push(
    '',
    'Options',
    ...columns(command.options.map((option) => [flagsOf(option), describe(option)] as const)),
  );
  if (command.notes) lines.push('', 'Notes', ...command.notes.map((note) => `  ${note}`));
  lines.push('', 'Examples', ...command.examples.map((example) => `  $ ${example}`), '');
  return lines.join('\n');
}
