// What a scenario module exports, and what the bench hands it. A scenario is one file under
// bench/scenarios/ plus one line in bench/scenarios.ts.
import type { Report } from './report.ts';
import type { BenchServer } from './servers.ts';

export interface Bench {
  report: Report;
  /**
   * Our server on a fresh data dir, shared by the scenarios of one run that need no server of
   * their own: started on first use, stopped when the run ends.
   */
  sharedServer(): Promise<BenchServer>;
}

export interface Scenario {
  /** The heading printed above the scenario's lines. */
  title: string;
  run(bench: Bench): Promise<void>;
}
