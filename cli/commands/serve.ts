// `agent-ops serve`: the ingest server and the dashboard. Its options are parsed here like every
// other command's; the server itself is a separate bundle, loaded only now, so no other command
// pays for parsing it.
import { resolve } from 'node:path';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_FSYNC_MODE,
  DEFAULT_HOST,
  DEFAULT_NOTIFY_MIN_DURATION_MS,
  DEFAULT_LOST_AFTER_MS,
  DEFAULT_PORT,
  FSYNC_INTERVAL_MS,
  FSYNC_MODES,
} from '../../shared/constants.ts';
import type { FsyncMode, ServeOptions } from '../../shared/types.ts';
import { isLoopbackHost } from '../../shared/loopback.ts';
import { quote } from '../../shared/validate.ts';
import { usageError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import type { ParsedArgs } from '../parse-args.ts';
import { HELP_OPTION } from '../common-options.ts';
import { EXIT } from '../exit-codes.ts';

/** A completed run worth a message: at most a day is a sensible threshold. */
const MAX_NOTIFY_MIN_DURATION_MS = 24 * 3_600_000;

/** Highest TCP port. */
const MAX_PORT = 65_535;
/** The longest --lost-after: a week. */
const MAX_LOST_AFTER_MS = 7 * 86_400_000;

/** service.name on what we export, unless OTEL_SERVICE_NAME says otherwise. */
const DEFAULT_SERVICE_NAME = 'agent-ops';

function checkUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`${source} must be an http:// or https:// URL; got ${quote(raw)}`, 'serve');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError(`${source} must be an http:// or https:// URL; got ${quote(raw)}`, 'serve');
  return raw;
}

/** `k=v` pairs; the environment's list is comma-separated with percent-encoded values (OTel's form). */
function parseHeaders(pairs: string[], source: string, encoded: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    const name = pair.slice(0, equals).trim().toLowerCase();
    if (equals <= 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name))
      throw usageError(`${source} must be name=value; got ${quote(pair)}`, 'serve');
    const value = pair.slice(equals + 1).trim();
    headers[name] = encoded ? decodeURIComponent(value) : value;
  }
  return headers;
}

/** Export options from the flags and the OTel environment variables; flags win. */
function otlpExportOf(options: ParsedArgs['options']): ServeOptions['otlp'] {
  const env = process.env;
  const flag = options.otlpEndpoint === undefined ? undefined : String(options.otlpEndpoint);
  const tracesUrl =
    flag === undefined ? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined : undefined;
  const endpoint = flag ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined);
  if (endpoint === undefined && tracesUrl === undefined) return undefined;
  const fromEnv = (env.OTEL_EXPORTER_OTLP_HEADERS ?? '').split(',').filter((pair) => pair.trim());
  const headers = {
    ...parseHeaders(fromEnv, 'OTEL_EXPORTER_OTLP_HEADERS', true),
    ...parseHeaders((options.otlpHeader as string[] | undefined) ?? [], '--otlp-header', false),
  };
  return {
    endpoint: checkUrl(
      endpoint ?? tracesUrl!,
      flag ? '--otlp-endpoint' : 'OTEL_EXPORTER_OTLP_ENDPOINT',
    ),
    tracesUrl:
      tracesUrl === undefined
        ? undefined
        : checkUrl(tracesUrl, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
    headers,
    serviceName: env.OTEL_SERVICE_NAME || DEFAULT_SERVICE_NAME,
  };
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Start the ingest server and the dashboard',
  usage: 'serve [options]',
  options: [
    {
      name: 'port',
      flags: ['--port'],
      type: 'integer',
      valueName: 'n',
      min: 0,
      max: MAX_PORT,
      env: 'PORT',
      default: DEFAULT_PORT,
      description: 'Port to listen on; 0 picks a free one (env PORT)',
    },
    {
      name: 'host',
      flags: ['--host'],
      type: 'string',
      valueName: 'addr',
      default: DEFAULT_HOST,
      description: 'Address to bind; 0.0.0.0 exposes it to the network',
    },
    {
      name: 'data',
      flags: ['--data'],
      type: 'string',
      valueName: 'dir',
      env: 'AGENTOPS_DATA_DIR',
      default: DEFAULT_DATA_DIR,
      description: 'Data directory, one server per directory (env AGENTOPS_DATA_DIR)',
    },
    {
      name: 'fsync',
      flags: ['--fsync'],
      type: 'string',
      valueName: 'mode',
      choices: FSYNC_MODES,
      default: DEFAULT_FSYNC_MODE,
      description: `${FSYNC_MODES.join(' | ')}: when an event is on disk (see Notes)`,
    },
    {
      name: 'retention',
      flags: ['--retention'],
      type: 'integer',
      valueName: 'n',
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
      env: 'EVENT_RETENTION_MAX',
      description:
        'Keep at most n events, dropping whole old segments (env EVENT_RETENTION_MAX; default unlimited)',
    },
    {
      name: 'notify',
      flags: ['--notify'],
      type: 'string',
      valueName: 'url',
      repeatable: true,
      description: 'POST a JSON message here on approvals and failed or long runs (repeatable)',
    },
    {
      name: 'notifyMinDuration',
      flags: ['--notify-min-duration'],
      type: 'duration',
      unit: 's',
      valueName: 'duration',
      min: 0,
      max: MAX_NOTIFY_MIN_DURATION_MS,
      default: DEFAULT_NOTIFY_MIN_DURATION_MS,
      description: 'A completed run is announced when it ran at least this long (bare number: s)',
    },
    {
      name: 'lostAfter',
      flags: ['--lost-after'],
      type: 'duration',
      unit: 's',
      valueName: 'duration',
      min: 1,
      max: MAX_LOST_AFTER_MS,
      default: DEFAULT_LOST_AFTER_MS,
      description:
        'A producer or worker gone this long is lost: its run ends producer-lost, or is requeued',
    },
    {
      name: 'allowHost',
      flags: ['--allow-host'],
      type: 'string',
      valueName: 'name',
      repeatable: true,
      description:
        'Also answer requests for this Host name (beside localhost, 127.0.0.1, [::1], --host); repeatable',
    },
    {
      name: 'corsOrigin',
      flags: ['--cors-origin'],
      type: 'string',
      valueName: 'origin',
      repeatable: true,
      description:
        'Let web pages of this origin (https://ui.example.com) call the API; none by default; repeatable',
    },
    {
      name: 'insecureNoKey',
      flags: ['--insecure-no-key'],
      type: 'boolean',
      description:
        'Listen beyond this machine without AGENTOPS_API_KEY: anyone who can reach it can read and control every run',
    },
    {
      name: 'otlpEndpoint',
      flags: ['--otlp-endpoint'],
      type: 'string',
      valueName: 'url',
      description:
        'Send runs and spans as OTLP/HTTP JSON to <url>/v1/traces (env OTEL_EXPORTER_OTLP_ENDPOINT)',
    },
    {
      name: 'otlpHeader',
      flags: ['--otlp-header'],
      type: 'string',
      valueName: 'k=v',
      repeatable: true,
      description: 'A header on every export request; repeatable (env OTEL_EXPORTER_OTLP_HEADERS)',
    },
    HELP_OPTION,
  ],
  notes: [
    `--fsync batch acknowledges after write(2) and fsyncs at least every ${FSYNC_INTERVAL_MS} ms;`,
    'always acknowledges after the fsync; never leaves it to the OS.',
    'Environment: AGENTOPS_API_KEY requires this key on /api/*, /health and /v1/traces',
    '(x-api-key or Bearer); AGENTOPS_LOG_LEVEL=quiet turns off the request log on stderr.',
    'OpenTelemetry: POST /v1/traces takes OTLP/HTTP traces in; --otlp-endpoint sends them out',
    '(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, a full URL, and OTEL_SERVICE_NAME are read too).',
    "--notify messages carry `text` (Slack-style webhooks) and ntfy's JSON fields (title, message,",
    'tags, priority, click; the topic after # in the URL: https://ntfy.sh/#mytopic). Failed',
    'deliveries are retried with backoff and counted in /health under "notify".',
    'Safe by default: requests for any Host but localhost, 127.0.0.1, [::1], --host and',
    '--allow-host get 421; no other web page may call the API unless --cors-origin names it; a',
    '--host beyond loopback needs AGENTOPS_API_KEY (or --insecure-no-key).',
  ],
  examples: [
    'agent-ops serve',
    'agent-ops serve --port 9000 --data /var/lib/agent-ops --fsync always',
    'agent-ops serve --lost-after 5m',
    'AGENTOPS_API_KEY=secret agent-ops serve --host 0.0.0.0 --allow-host agents.internal',
    'agent-ops serve --cors-origin http://localhost:5173',
    'agent-ops serve --notify https://hooks.slack.com/services/T0/B0/your-secret --notify https://ntfy.sh/#my-agents',
    'agent-ops serve --otlp-endpoint http://localhost:4318 --otlp-header x-tenant=dev',
  ],

  async run({ options, positionals }) {
    if (positionals.length > 0)
      throw usageError(`unexpected argument ${quote(positionals[0])}`, 'serve');
    const env = process.env;
    const notify = (options.notify ?? []) as string[];
    for (const url of notify) {
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        parsed = undefined;
      }
      if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:')
        throw usageError(`--notify must be an http:// or https:// URL; got ${quote(url)}`, 'serve');
    }
    const host = String(options.host);
    const apiKey = env.AGENTOPS_API_KEY || undefined;
    const insecureNoKey = options.insecureNoKey === true;
    if (!apiKey && !insecureNoKey && !isLoopbackHost(host)) {
      throw usageError(
        `refusing to listen on ${host} without an API key: anyone who can reach it could read, stop and delete every run; ` +
          'set AGENTOPS_API_KEY, or pass --insecure-no-key to accept that',
        'serve',
      );
    }
    const corsOrigins = (options.corsOrigin ?? []) as string[];
    for (const origin of corsOrigins) {
      let parsed: string | undefined;
      try {
        parsed = new URL(origin).origin;
      } catch {
        parsed = undefined;
      }
      if (parsed !== origin)
        throw usageError(
          `--cors-origin must be an origin like https://ui.example.com (scheme, host, port; no path); got ${quote(origin)}`,
          'serve',
        );
    }
    const serveOptions: ServeOptions = {
      allowHosts: (options.allowHost ?? []) as string[],
      corsOrigins,
      insecureNoKey,
      notify,
      notifyMinDurationMs: Number(options.notifyMinDuration),
      port: Number(options.port),
      host,
      dataDir: resolve(String(options.data)),
      fsync: options.fsync as FsyncMode,
      retentionMax: options.retention === undefined ? undefined : Number(options.retention),
      apiKey,
      quiet: env.AGENTOPS_LOG_LEVEL === 'quiet',
      lostAfterMs: Number(options.lostAfter),
      otlp: otlpExportOf(options),
    };
    // Beside this bundle in dist/; a URL the bundler leaves alone.
    const serverModule = new URL('./server.js', import.meta.url).href;
    const { serve } = (await import(serverModule)) as {
      serve(options: ServeOptions): Promise<void>;
    };
    await serve(serveOptions);
    return EXIT.ok;
  },
};
