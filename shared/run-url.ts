// Where a run lives: its API path (every client builds it here) and its place in the dashboard.

/** `/api/runs/<id><rest>`, the id encoded: `runApiPath(id, '/events')`. */
export function runApiPath(runId: string, rest = ''): string {
  return `/api/runs/${encodeURIComponent(runId)}${rest}`;
}

/** The dashboard's route for one run: `#/runs/<id>`. */
export function runDashboardHash(runId: string): string {
  return `#/runs/${encodeURIComponent(runId)}`;
}

/** The run id of a dashboard route, or undefined when the route is not a run's. */
export function runIdFromDashboardHash(hash: string): string | undefined {
  const match = /^#\/runs\/(.+)$/.exec(hash);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
}

/** The dashboard's address for one run, so every client links to the same place. */
export function runDashboardUrl(serverUrl: string, runId: string): string {
  return `${serverUrl.replace(/\/+$/, '')}/${runDashboardHash(runId)}`;
}
