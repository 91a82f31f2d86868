// Options every network command shares, and how they become a connection.
import { DEFAULT_SERVER_URL } from '../shared/constants.ts';
import { quote } from '../shared/validate.ts';
import { usageError } from './cli-error.ts';
import type { OptionSpec, ParsedArgs } from './parse-args.ts';

export const DEFAULT_RETRY_FOR_MS = 60_000;
export const MAX_RETRY_FOR_MS = 24 * 3_600_000;

export const HELP_OPTION: OptionSpec = {
  name: 'help',
  flags: ['--help', '-h'],
  type: 'boolean',
  description: 'Show this help',
};

export const JSON_OPTION: OptionSpec = {
  name: 'json',
  flags: ['--json'],
  type: 'boolean',
  description: 'Print one JSON document on stdout; human text goes to stderr',
};

export const METADATA_OPTION: OptionSpec = {
  name: 'metadata',
  flags: ['--metadata'],
  type: 'string',
  valueName: 'json',
  description: 'Run metadata, a JSON object',
};

/** --id of the commands that create a run; without it each run gets shared/new-run-id.ts's id. */
export const RUN_ID_OPTION: OptionSpec = {
  name: 'id',
  flags: ['--id'],
  type: 'string',
  valueName: 'runId',
  description: 'Run id (default run-<epoch ms>-<random>)',
};

export const CONNECTION_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'server',
    flags: ['--server'],
    type: 'string',
    valueName: 'url',
    env: 'AGENTOPS_SERVER',
    default: DEFAULT_SERVER_URL,
    description: 'Server URL (env AGENTOPS_SERVER)',
  },
  {
    name: 'apiKey',
    flags: ['--apiKey', '--api-key'],
    type: 'string',
    valueName: 'key',
    env: 'AGENTOPS_API_KEY',
    description: 'API key, sent as x-api-key (env AGENTOPS_API_KEY)',
  },
  {
    name: 'retryFor',
    flags: ['--retry-for', '--retryFor'],
    type: 'duration',
    unit: 's',
    valueName: 'duration',
    min: 0,
    max: MAX_RETRY_FOR_MS,
    default: DEFAULT_RETRY_FOR_MS,
    description: 'Keep retrying an unreachable or overloaded server this long (bare number: s)',
  },
  {
    name: 'noColor',
    flags: ['--no-color'],
    type: 'boolean',
    description: 'No colours (also NO_COLOR)',
  },
];

/** The options that may come before the command word: `agent-ops --server URL ls`. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  ...CONNECTION_OPTIONS,
  JSON_OPTION,
  HELP_OPTION,
];

export interface Connection {
  serverUrl: string;
  apiKey: string | undefined;
  retryForMs: number;
}

export function connectionFrom(args: ParsedArgs, command: string): Connection {
  const raw = String(args.options.server);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`--server must be an http:// or https:// URL; got ${quote(raw)}`, command);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`--server must be an http:// or https:// URL; got ${quote(raw)}`, command);
  }
  // Every route is absolute (/api/…, /health), so anything after the host would be doubled.
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw usageError(
      `--server must be the server's address with no path; got ${quote(raw)}, give ${quote(url.origin)}`,
      command,
    );
  }
  const apiKey = args.options.apiKey;
  return {
    serverUrl: url.origin,
    apiKey: typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined,
    retryForMs: Number(args.options.retryFor),
  };
}
