// `--timeout 10m` for approvals: seconds, or a number with s, m or h, within the server's limit.
import { MAX_APPROVAL_TIMEOUT_S } from '../shared/approvals.ts';
import { quote } from '../shared/validate.ts';
import { usageError } from './cli-error.ts';
import type { OptionSpec } from './parse-args.ts';

const SECONDS_PER_UNIT: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600 };

export const APPROVAL_TIMEOUT_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'timeout',
    flags: ['--timeout'],
    type: 'string',
    valueName: 'duration',
    description: 'Decide by itself after this long: 90s, 10m, 1h (default: wait for a person)',
  },
  {
    name: 'onTimeout',
    flags: ['--on-timeout', '--onTimeout'],
    type: 'string',
    valueName: 'decision',
    choices: ['approve', 'deny'],
    default: 'deny',
    description: 'What the timeout decides',
  },
];

/** Seconds, or undefined when the option is absent. */
export function timeoutSeconds(raw: unknown, command: string): number | undefined {
  if (raw === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([smh]?)$/.exec(String(raw).trim());
  const seconds = match ? Number(match[1]) * SECONDS_PER_UNIT[match[2]!]! : Number.NaN;
  if (!(seconds > 0) || seconds > MAX_APPROVAL_TIMEOUT_S)
    throw usageError(
      `--timeout must be a duration like 90s, 10m or 1h, at most ${MAX_APPROVAL_TIMEOUT_S / 86_400} days; got ${quote(String(raw))}`,
      command,
    );
  return seconds;
}
