// Parses argv against a command's option table. Every problem is a usage error that names the
// flag and quotes the value it got.
import {
  durationFormatHint,
  formatDuration,
  parseDuration,
  type DurationUnit,
} from '../shared/parse-duration.ts';
import { quote } from '../shared/validate.ts';
import { usageError } from './cli-error.ts';

export type OptionValue = string | number | boolean | string[];

export interface OptionSpec {
  /** The key in the parsed result, e.g. `failAt`. */
  name: string;
  /** Every spelling accepted, canonical first: `['--failAt', '--fail-at']`. */
  flags: readonly string[];
  /** A `duration` is parsed to milliseconds; its default, min and max are milliseconds too. */
  type: 'boolean' | 'string' | 'integer' | 'number' | 'duration';
  description: string;
  /** For a duration: the unit of a bare number (`--interval 250` is ms, `--grace 5` is s). */
  unit?: DurationUnit;
  /** Shown in help as `<valueName>`. */
  valueName?: string;
  default?: OptionValue;
  /** An environment variable read when the flag is absent. */
  env?: string;
  min?: number;
  max?: number;
  /** Allowed values of a string option. */
  choices?: readonly string[];
  /** A string option that may be given again and again; its value is the list, in order. */
  repeatable?: boolean;
}

export interface ParsedArgs {
  options: Record<string, OptionValue | undefined>;
  positionals: string[];
}

function convert(spec: OptionSpec, raw: string, source: string, command: string): OptionValue {
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) {
      throw usageError(
        `${source} must be one of ${spec.choices.join(', ')}; got ${quote(raw)}`,
        command,
      );
    }
    return raw;
  }
  if (spec.type === 'duration') return convertDuration(spec, raw, source, command);
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  const wantsInteger = spec.type === 'integer';
  const min = spec.min ?? Number.NEGATIVE_INFINITY;
  const max = spec.max ?? Number.POSITIVE_INFINITY;
  if (
    !Number.isFinite(value) ||
    (wantsInteger && !Number.isInteger(value)) ||
    value < min ||
    value > max
  ) {
    const kind = wantsInteger ? 'an integer' : 'a number';
    const range =
      spec.max === undefined ? `${min} or more` : `from ${min} to ${max.toLocaleString('en-US')}`;
    throw usageError(`${source} must be ${kind} ${range}; got ${quote(raw)}`, command);
  }
  return value;
}

function convertDuration(spec: OptionSpec, raw: string, source: string, command: string): number {
  const bareUnit = spec.unit ?? 'ms';
  const value = parseDuration(raw, bareUnit);
  if (value === undefined)
    throw usageError(
      `${source} must be ${durationFormatHint(bareUnit)}; got ${quote(raw)}`,
      command,
    );
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.POSITIVE_INFINITY;
  if (value < min || value > max) {
    const range =
      spec.max === undefined
        ? `${formatDuration(min)} or more`
        : `from ${formatDuration(min)} to ${formatDuration(max)}`;
    throw usageError(`${source} must be ${range}; got ${quote(raw)}`, command);
  }
  return value;
}

export function parseArgs(
  argv: readonly string[],
  specs: readonly OptionSpec[],
  command: string,
  env: NodeJS.ProcessEnv = process.env,
): ParsedArgs {
  const byFlag = new Map<string, OptionSpec>();
  for (const spec of specs) for (const flag of spec.flags) byFlag.set(flag, spec);

  const options: Record<string, OptionValue | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    const spec = byFlag.get(flag);
    if (!spec) throw usageError(`unknown option ${quote(flag)}`, command);
    if (spec.type === 'boolean') {
      if (equals !== -1) throw usageError(`${flag} takes no value; got ${quote(arg)}`, command);
      options[spec.name] = true;
      continue;
    }
    let raw: string;
    if (equals !== -1) raw = arg.slice(equals + 1);
    // A value may start with one "-" (`--steps -3`): it is this flag's value, judged below; a
    // long option after the flag (`--steps --json`) means the value was left out.
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) raw = argv[++i]!;
    else throw usageError(`${flag} needs a value`, command);
    const value = convert(spec, raw, flag, command);
    if (spec.repeatable) {
      const earlier = options[spec.name];
      options[spec.name] = [...(Array.isArray(earlier) ? earlier : []), String(value)];
    } else options[spec.name] = value;
  }

  for (const spec of specs) {
    if (options[spec.name] !== undefined) continue;
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') {
      const value = convert(spec, fromEnv, spec.env!, command);
      options[spec.name] = spec.repeatable ? [String(value)] : value;
    } else if (spec.default !== undefined) {
      options[spec.name] = spec.default;
    }
  }
  return { options, positionals };
}
