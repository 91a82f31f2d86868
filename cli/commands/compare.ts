// `agent-ops compare <runA> <runB>`: two runs side by side (duration, cost, tokens, tool calls per
// name, the aligned sequence of calls) and, with --fail-if, the CI gate: exit 1 when a rule breaks.
import { runApiPath } from '../../shared/run-url.ts';
import type { Run } from '../../shared/types.ts';
import type { Span } from '../../shared/span-tree.ts';
import { tracePath, type TraceResource } from '../../shared/trace-paths.ts';
import type { RunSummary } from '../../shared/trace-summary.ts';
import {
  compareRuns,
  type ComparedMetric,
  type MetricChange,
  type RunComparison,
} from '../../shared/run-comparison.ts';
import { checkRunId } from '../check-run-id.ts';
import type { Command } from '../command.ts';
import { CONNECTION_OPTIONS, HELP_OPTION, JSON_OPTION } from '../common-options.ts';
import { refused } from '../event-sender.ts';
import { EXIT } from '../exit-codes.ts';
import { parseFailRule, ruleBreaks, type FailRule } from '../fail-rule.ts';
import { formatTable } from '../format-table.ts';
import { FIRST_CONTACT_RETRY_MS, type HttpClient } from '../http-client.ts';
import type { Output } from '../output.ts';
import { runNotFound } from '../run-not-found.ts';
import { withClient } from '../with-client.ts';

/** Rows of the aligned call sequence printed; --json has them all. */
const MAX_SEQUENCE_ROWS = 200;

const METRIC_LABELS: Array<[ComparedMetric, string, (value: number) => string]> = [
  ['duration', 'duration', (ms) => formatMs(ms)],
  ['cost', 'cost', (usd) => `$${usd.toFixed(4)}`],
  ['tokens', 'tokens', (n) => n.toLocaleString('en-US')],
  ['toolCalls', 'tool calls', String],
  ['failedTools', 'failed tool calls', String],
  ['spans', 'spans', String],
];

function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}

function formatChange(change: MetricChange, format: (value: number) => string): string {
  if (change.delta === null) return '';
  const sign = change.delta > 0 ? '+' : change.delta < 0 ? '−' : '±';
  const pct = change.deltaPct === null ? '' : ` (${sign}${Math.abs(change.deltaPct).toFixed(1)}%)`;
  return `${sign}${format(Math.abs(change.delta))}${pct}`;
}

export interface RuleOutcome {
  rule: string;
  broken: boolean | null;
  a: number | null;
  b: number | null;
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Compare two runs: time, cost, tokens, tool calls (a CI gate with --fail-if)',
  usage: 'compare <runA> <runB> [options]',
  options: [
    {
      name: 'failIf',
      flags: ['--fail-if'],
      type: 'string',
      valueName: 'rule',
      repeatable: true,
      description: "Exit 1 when run B breaks this rule (repeatable), e.g. 'duration>+20%'",
    },
    JSON_OPTION,
    ...CONNECTION_OPTIONS,
    HELP_OPTION,
  ],
  notes: [
    'Run A is the baseline, run B the candidate. A rule is <metric><op><threshold>, op one of',
    '> >= < <=. A threshold with a sign or a % is the change from A to B (duration>+20%,',
    'cost>+0.05, tokens>=+10%); a bare number is B itself (failedTools>0). Metrics: duration',
    '(ms, or with s / m: duration>+30s), cost, tokens, inputTokens, outputTokens, toolCalls,',
    'failedTools, spans, errorSpans. A rule on a value a run does not know (a cost nobody',
    'reported) cannot break; it is listed as unknown. Exit 1 when a rule breaks.',
  ],
  examples: [
    'agent-ops compare run-main run-pr',
    "agent-ops compare \"$BASE\" \"$RUN\" --fail-if 'duration>+20%' --fail-if 'cost>+10%' --fail-if 'failedTools>0'",
    'agent-ops compare run-a run-b --json | jq .metrics.cost',
  ],

  run: (args) =>
    withClient(args, { command: 'compare', maxPositionals: 2 }, async (context) => {
      const { positionals, client, output } = context;
      const runA = checkRunId(positionals[0], 'compare', '<runA>');
      const runB = checkRunId(positionals[1], 'compare', '<runB>');
      const rules = ((args.options.failIf as string[] | undefined) ?? []).map((text) =>
        parseFailRule(text),
      );
      const [a, b] = await Promise.all([loadRun(client, runA), loadRun(client, runB)]);
      const comparison = compareRuns(a, b);
      const outcomes = rules.map((rule) => judge(rule, comparison));
      if (output.json) output.result({ ...comparison, rules: outcomes });
      else printComparison(output, comparison, outcomes);
      return outcomes.some((outcome) => outcome.broken === true) ? EXIT.failed : EXIT.ok;
    }),
};

function judge(rule: FailRule, comparison: RunComparison): RuleOutcome {
  const change = comparison.metrics[rule.metric];
  const broken = ruleBreaks(rule, change);
  return { rule: rule.text, broken: broken ?? null, a: change.a, b: change.b };
}

async function loadRun(
  client: HttpClient,
  runId: string,
): Promise<{ run: Run; summary: RunSummary; spans: Span[] }> {
  const get = async <T>(path: string): Promise<T> => {
    const response = await client.request<T>('GET', path, undefined, {
      retryForMs: Math.min(FIRST_CONTACT_RETRY_MS, client.retryForMs),
    });
    if (response.status === 404) throw runNotFound(client.baseUrl, runId);
    if (response.status !== 200) throw refused(`GET ${path}`, response);
    return response.body;
  };
  const trace = <T>(resource: TraceResource) => get<T>(tracePath(runId, resource));
  const [run, summary, spans] = await Promise.all([
    get<Run>(runApiPath(runId)),
    trace<RunSummary>('summary'),
    trace<Span[]>('spans'),
  ]);
  return { run, summary, spans };
}

function printComparison(output: Output, comparison: RunComparison, outcomes: RuleOutcome[]) {
  const { a, b } = comparison;
  output.info(
    `${output.paint('bold', 'A')} ${a.runId} (${a.status})   ${output.paint('bold', 'B')} ${b.runId} (${b.status})`,
  );
  output.info('');
  const known = (value: number | null, format: (value: number) => string) =>
    value === null ? 'unknown' : format(value);
  const metricRows = METRIC_LABELS.map(([metric, label, format]) => {
    const change = comparison.metrics[metric];
    return [label, known(change.a, format), known(change.b, format), formatChange(change, format)];
  });
  output.info(formatTable(['', 'A', 'B', 'CHANGE'], metricRows));

  const toolRows = Object.entries(comparison.tools).map(([name, { a: x, b: y }]) => [
    name,
    x ? `${x.count} (${x.failed} failed)` : '—',
    y ? `${y.count} (${y.failed} failed)` : '—',
    x?.p50Ms != null ? formatMs(x.p50Ms) : '—',
    y?.p50Ms != null ? formatMs(y.p50Ms) : '—',
  ]);
  if (toolRows.length > 0) {
    output.info('');
    output.info(formatTable(['TOOL', 'CALLS A', 'CALLS B', 'P50 A', 'P50 B'], toolRows));
  }

  const marks = { same: ' ', changed: '~', added: '+', removed: '-' } as const;
  const describe = (call: RunComparison['sequence'][number]['a']) =>
    call
      ? `${call.toolName}${call.args ? ` ${call.args.slice(0, 48)}` : ''}${call.status === 'error' ? ' ✖' : ''}`
      : '';
  const sequence = comparison.sequence;
  if (sequence.length > 0) {
    output.info('');
    const rows = sequence
      .slice(0, MAX_SEQUENCE_ROWS)
      .map((row) => [marks[row.change], describe(row.a), describe(row.b)]);
    output.info(formatTable(['', 'CALLS OF A', 'CALLS OF B'], rows));
    if (sequence.length > MAX_SEQUENCE_ROWS)
      output.info(
        output.paint('dim', `… ${sequence.length - MAX_SEQUENCE_ROWS} more (see --json)`),
      );
  }

  if (outcomes.length > 0) output.info('');
  for (const outcome of outcomes) {
    if (outcome.broken === null)
      output.info(output.paint('yellow', `? ${outcome.rule}: unknown in one of the runs`));
    else if (outcome.broken) output.info(output.paint('red', `✖ ${outcome.rule}: broken`));
    else output.info(output.paint('green', `✔ ${outcome.rule}`));
  }
}
