// Where a run lives: its API path (every client builds it here) and its dashboard address.

/** `/api/runs/<id><rest>`, the id encoded: `runApiPath(id, '/events')`. */
export function runApiPath(runId: string, rest = ''): string {
  return `/api/runs/${encodeURIComponent(runId)}${rest}`;
}

/** The dashboard's address for one run, so every client links to the same place. */
export function runDashboardUrl(serverUrl: string, runId: string): string {
  return `${serverUrl.replace(/\/+$/, '')}/#/runs/${encodeURIComponent(runId)}`;
}
