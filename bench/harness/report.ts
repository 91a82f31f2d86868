// What a bench run reports: the table's rows (printed as they come and once more as a table at the
// end), the results that go into bench-results.json, and what is broken (not merely slow), which
// makes the exit code 1.

export interface Row {
  metric: string;
  measured: string;
  reference: string;
  verdict: string;
}

export function passFail(ok: boolean): string {
  return ok ? 'pass' : 'FAIL';
}

export class Report {
  readonly rows: Row[] = [];
  /** Each scenario's figures under its own name, for bench-results.json. */
  readonly results: Record<string, unknown> = {};
  readonly problems: string[] = [];

  row(metric: string, measured: string, reference = '', verdict = ''): void {
    this.rows.push({ metric, measured, reference, verdict });
    console.log(
      `  ${metric}: ${measured}${reference ? `  (${reference})` : ''}${verdict ? `  ${verdict}` : ''}`,
    );
  }

  /** Something broken, not slow: an event missing, an error answer, a crash. */
  broken(problem: string): void {
    this.problems.push(problem);
  }

  printTable(): void {
    const header: Row = {
      metric: 'metric',
      measured: 'measured',
      reference: 'baseline / budget',
      verdict: 'ratio / verdict',
    };
    const all = [header, ...this.rows];
    const widths = (['metric', 'measured', 'reference'] as const).map((key) =>
      Math.max(...all.map((r) => r[key].length)),
    );
    const line = (r: Row) =>
      `${r.metric.padEnd(widths[0]!)} │ ${r.measured.padEnd(widths[1]!)} │ ${r.reference.padEnd(widths[2]!)} │ ${r.verdict}`;
    console.log(`\n${line(header)}`);
    console.log(widths.map((w) => '─'.repeat(w)).join('─┼─') + '─┼─' + '─'.repeat(15));
    for (const r of this.rows) console.log(line(r));
  }
}
