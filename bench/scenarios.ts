// The scenarios, in the order `npm run bench` runs them. Adding one: a file under scenarios/ that
// exports `title` and `run(bench)` (see harness/scenario.ts), and one line here. Each is imported
// only when it runs, so one scenario's dependencies (the browser for the dashboard) cost the
// others nothing.
import type { Scenario } from './harness/scenario.ts';

export const SCENARIOS: Record<string, () => Promise<Scenario>> = {
  ingest: () => import('./scenarios/ingest.ts'),
  batch: () => import('./scenarios/batch.ts'),
  delivery: () => import('./scenarios/delivery.ts'),
  cli: () => import('./scenarios/cli.ts'),
  store: () => import('./scenarios/store.ts'),
  bundles: () => import('./scenarios/bundles.ts'),
  dashboard: () => import('./scenarios/dashboard.ts'),
  approvals: () => import('./scenarios/approvals.ts'),
  queue: () => import('./scenarios/queue.ts'),
  traces: () => import('./scenarios/traces.ts'),
  otel: () => import('./scenarios/otel.ts'),
};
