// Appends a short markdown summary of a run to $GITHUB_STEP_SUMMARY, when GitHub Actions set it.
import { appendFileSync } from 'node:fs';

export interface RunSummary {
  runId: string;
  title: string;
  status: string;
  events?: number;
  durationMs?: number;
  errorMessage?: string;
  url: string;
}

const ICONS: Record<string, string> = { completed: '✅', error: '❌', stopped: '⏹️' };

export function appendGithubSummary(
  summary: RunSummary,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const rows: Array<[string, string]> = [
    ['Run', `[\`${summary.runId}\`](${summary.url})`],
    ['Title', cell(summary.title)],
    ['Status', `${ICONS[summary.status] ?? ''} ${summary.status}`.trim()],
  ];
  if (summary.events !== undefined) rows.push(['Events', String(summary.events)]);
  if (summary.durationMs !== undefined)
    rows.push(['Duration', `${(summary.durationMs / 1000).toFixed(1)} s`]);
  if (summary.errorMessage) rows.push(['Error', cell(summary.errorMessage)]);
  const table = rows.map(([key, value]) => `| ${key} | ${value} |`).join('\n');
  try {
    appendFileSync(file, `### agent-ops: ${cell(summary.title)}\n\n| | |\n|---|---|\n${table}\n\n`);
  } catch (error) {
    // The run's outcome matters more than its summary: say so and carry on.
    process.stderr.write(
      `agent-ops: could not append to GITHUB_STEP_SUMMARY ${JSON.stringify(file)}: ${String(error)}\n`,
    );
  }
}
