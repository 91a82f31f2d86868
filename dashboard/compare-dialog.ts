// "Compare with…" on a run: pick another run and see both side by side, the comparison
// `agent-ops compare` prints (shared/run-comparison.ts): duration, cost, tokens, tool calls per
// name, and the two sequences of tool calls aligned with what changed.
import {
  compareRuns,
  type AlignedCall,
  type ComparedMetric,
  type MetricChange,
} from '../shared/run-comparison.ts';
import type { Span } from '../shared/span-tree.ts';
import { tracePath } from '../shared/trace-paths.ts';
import type { RunSummary } from '../shared/trace-summary.ts';
import type { Run } from '../shared/types.ts';
import { apiJson } from './api-client.ts';
import { element } from './element.ts';
import { formatCount, formatDuration, formatUsd } from './format.ts';

/** Runs offered to compare with: the newest this many. */
const CANDIDATE_RUNS = 200;
/** Rows of the aligned sequence drawn; the CLI's --json has them all. */
const MAX_SEQUENCE_ROWS = 500;

const METRICS: Array<[ComparedMetric, string, (value: number) => string]> = [
  ['duration', 'duration', formatDuration],
  ['cost', 'cost', formatUsd],
  ['tokens', 'tokens', formatCount],
  ['toolCalls', 'tool calls', formatCount],
  ['failedTools', 'failed tool calls', formatCount],
  ['spans', 'spans', formatCount],
];

const CHANGE_MARKS: Record<AlignedCall['change'], string> = {
  same: '',
  changed: '~',
  added: '+',
  removed: '−',
};

async function loadRun(runId: string): Promise<{ summary: RunSummary; spans: Span[] }> {
  const [summary, spans] = await Promise.all([
    apiJson<RunSummary>(tracePath(runId, 'summary')),
    apiJson<Span[]>(tracePath(runId, 'spans')),
  ]);
  return { summary, spans };
}

function changeText(change: MetricChange, format: (value: number) => string): string {
  if (change.delta === null) return '';
  const sign = change.delta > 0 ? '+' : change.delta < 0 ? '−' : '±';
  const pct = change.deltaPct === null ? '' : ` (${sign}${Math.abs(change.deltaPct).toFixed(1)}%)`;
  return `${sign}${format(Math.abs(change.delta))}${pct}`;
}

export class CompareDialog {
  readonly button: HTMLButtonElement;
  #run: () => Run;
  #dialog: HTMLDialogElement;
  #select = element('select', { 'aria-label': 'Run to compare with' });
  #result = element('div', { class: 'compare-result', role: 'status' });

  constructor(run: () => Run) {
    this.#run = run;
    this.button = element('button', {
      type: 'button',
      text: 'Compare with…',
      'aria-haspopup': 'dialog',
      'aria-label': 'Compare this run with another run',
    });
    this.button.addEventListener('click', () => void this.open());
    const close = element('button', { type: 'button', text: 'Close', 'aria-label': 'Close' });
    close.addEventListener('click', () => this.#dialog.close());
    this.#select.addEventListener('change', () => void this.#compare());
    this.#dialog = element(
      'dialog',
      { class: 'compare-dialog', 'aria-label': 'Compare runs' },
      element(
        'header',
        { class: 'compare-header' },
        element('h2', { text: 'Compare with…' }),
        this.#select,
        close,
      ),
      this.#result,
    );
    this.#dialog.addEventListener('close', () => this.#dialog.remove());
  }

  async open(): Promise<void> {
    const current = this.#run();
    document.body.append(this.#dialog);
    this.#dialog.showModal();
    this.#result.textContent = 'Loading runs…';
    const runs = await apiJson<Run[]>(`/api/runs?limit=${CANDIDATE_RUNS}`);
    const others = runs.filter((run) => run.id !== current.id);
    this.#select.replaceChildren(
      element('option', { value: '', text: 'Pick a run (A, the baseline)…' }),
      ...others.map((run) =>
        element('option', { value: run.id, text: `${run.title} · ${run.id} · ${run.status}` }),
      ),
    );
    this.#result.textContent =
      others.length === 0 ? 'No other run to compare with.' : 'This run is B, the candidate.';
  }

  async #compare(): Promise<void> {
    const baseline = this.#select.value;
    if (baseline === '') return;
    const current = this.#run();
    this.#result.textContent = 'Comparing…';
    let comparison;
    try {
      const [a, b] = await Promise.all([loadRun(baseline), loadRun(current.id)]);
      comparison = compareRuns(a, b);
    } catch (error) {
      this.#result.textContent = `Could not compare: ${(error as Error).message}`;
      return;
    }
    if (this.#select.value !== baseline) return;
    const cell = (text: string, cls = '') =>
      element('td', { text, ...(cls ? { class: cls } : {}) });
    const known = (value: number | null, format: (value: number) => string) =>
      value === null ? 'unknown' : format(value);
    const metrics = element(
      'table',
      { class: 'compare-table', 'aria-label': 'Metrics' },
      element(
        'tr',
        {},
        element('th', { text: '' }),
        element('th', { text: `A ${comparison.a.runId}` }),
        element('th', { text: `B ${comparison.b.runId}` }),
        element('th', { text: 'change' }),
      ),
      ...METRICS.map(([metric, label, format]) => {
        const change = comparison.metrics[metric];
        const worse = change.delta !== null && change.delta > 0 ? 'worse' : '';
        return element(
          'tr',
          {},
          element('th', { text: label }),
          cell(known(change.a, format)),
          cell(known(change.b, format)),
          cell(changeText(change, format), worse),
        );
      }),
    );
    const toolStats = (stats: RunSummary['tools'][string] | null) =>
      stats
        ? `${stats.count} (${stats.failed} failed) · p50 ${stats.p50Ms === null ? '—' : formatDuration(stats.p50Ms)}`
        : '—';
    const tools = element(
      'table',
      { class: 'compare-table', 'aria-label': 'Tool calls per tool' },
      element(
        'tr',
        {},
        element('th', { text: 'tool' }),
        element('th', { text: 'A' }),
        element('th', { text: 'B' }),
      ),
      ...Object.entries(comparison.tools).map(([name, { a, b }]) =>
        element('tr', {}, element('th', { text: name }), cell(toolStats(a)), cell(toolStats(b))),
      ),
    );
    const describe = (call: AlignedCall['a']) =>
      call ? `${call.toolName} ${call.args}${call.status === 'error' ? ' ✖' : ''}` : '';
    const sequence = element(
      'table',
      { class: 'compare-table compare-sequence', 'aria-label': 'Tool calls in order' },
      element(
        'tr',
        {},
        element('th', { text: '' }),
        element('th', { text: 'calls of A' }),
        element('th', { text: 'calls of B' }),
      ),
      ...comparison.sequence
        .slice(0, MAX_SEQUENCE_ROWS)
        .map((row) =>
          element(
            'tr',
            { class: `change-${row.change}` },
            cell(CHANGE_MARKS[row.change]),
            cell(describe(row.a)),
            cell(describe(row.b)),
          ),
        ),
    );
    const more = comparison.sequence.length - MAX_SEQUENCE_ROWS;
    this.#result.replaceChildren(
      metrics,
      tools,
      sequence,
      more > 0
        ? element('p', { text: `… ${more} more calls (agent-ops compare --json has them all)` })
        : '',
    );
  }
}
