// `compare --fail-if` rules: `<metric><op><threshold>`. A threshold with a sign or a % is a change
// from run A to run B (`duration>+20%`, `cost>+0.05`, `tokens>=-10%`); a bare number is run B's
// own value (`failedTools>0`). A rule "breaks" when its comparison holds.
import {
  COMPARED_METRICS,
  type ComparedMetric,
  type MetricChange,
} from '../shared/run-comparison.ts';
import { parseDuration } from '../shared/parse-duration.ts';
import { quote } from '../shared/validate.ts';
import { usageError } from './cli-error.ts';

export interface FailRule {
  text: string;
  metric: ComparedMetric;
  op: '>' | '>=' | '<' | '<=';
  threshold: number;
  /** What the threshold is compared with: B's value, B − A, or the change in percent. */
  on: 'value' | 'delta' | 'percent';
}

const RULE = /^\s*([A-Za-z]+)\s*(>=|<=|>|<)\s*([+-]?)(\d+(?:\.\d+)?)\s*(%|[a-z]+)?\s*$/;

export function parseFailRule(text: string, command = 'compare'): FailRule {
  const match = RULE.exec(text);
  if (!match)
    throw usageError(
      `--fail-if must look like "duration>+20%", "cost>+10%" or "failedTools>0"; got ${quote(text)}`,
      command,
    );
  const [, name, op, sign, digits, unit] = match;
  if (!(COMPARED_METRICS as readonly string[]).includes(name!))
    throw usageError(
      `--fail-if names no metric ${quote(name)}; one of ${COMPARED_METRICS.join(', ')}`,
      command,
    );
  const metric = name as ComparedMetric;
  let threshold = Number(digits);
  if (unit !== undefined && unit !== '%') {
    const ms = metric === 'duration' ? parseDuration(`${digits}${unit}`, 'ms') : undefined;
    if (ms === undefined)
      throw usageError(
        `--fail-if: only duration takes a unit (ms, s, m, h); got ${quote(text)}`,
        command,
      );
    threshold = ms;
  }
  if (sign === '-') threshold = -threshold;
  const on = unit === '%' ? 'percent' : sign ? 'delta' : 'value';
  return { text: text.trim(), metric, op: op as FailRule['op'], threshold, on };
}

/** true: the rule breaks; false: it holds; undefined: a value it needs is unknown. */
export function ruleBreaks(rule: FailRule, change: MetricChange): boolean | undefined {
  let value: number | null;
  if (rule.on === 'value') value = change.b;
  else if (rule.on === 'delta') value = change.delta;
  else if (change.a === 0 && change.b !== null)
    // From nothing to something is an unbounded rise.
    value = change.b === 0 ? 0 : Infinity;
  else value = change.deltaPct;
  if (value === null) return undefined;
  switch (rule.op) {
    case '>':
      return value > rule.threshold;
    case '>=':
      return value >= rule.threshold;
    case '<':
      return value < rule.threshold;
    case '<=':
      return value <= rule.threshold;
    default:
      return rule.op satisfies never;
  }
}
