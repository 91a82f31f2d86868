// `--timeout 10m` and `--on-timeout` for approvals (ask, hook): when the server decides by itself.
import { MAX_APPROVAL_TIMEOUT_S } from '../shared/approvals.ts';
import type { OptionSpec } from './parse-args.ts';

export const APPROVAL_TIMEOUT_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'timeout',
    flags: ['--timeout'],
    type: 'duration',
    unit: 's',
    valueName: 'duration',
    min: 1000,
    max: MAX_APPROVAL_TIMEOUT_S * 1000,
    description:
      'Decided by --on-timeout after this long: 90s, 10m, 1h (default: wait for a person)',
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

/** The parsed --timeout in whole seconds, as approval.requested carries it. */
export function timeoutSeconds(value: unknown): number | undefined {
  return value === undefined ? undefined : Math.round(Number(value) / 1000);
}
