// The dashboard's address for one run, so every client links to the same place.
export function runDashboardUrl(serverUrl: string, runId: string): string {
  return `${serverUrl.replace(/\/+$/, '')}/#/runs/${encodeURIComponent(runId)}`;
}
