// `agent-ops serve`: wires options into the store and the app, listens, and shuts down cleanly.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_HOST, DEFAULT_PORT, FSYNC_MODES, VERSION } from '../shared/constants.ts';
import type { FsyncMode } from '../shared/types.ts';
import { parseIntParam, quote } from '../shared/validate.ts';
import { createApp } from './create-app.ts';
import { DataDirInUseError, lockDataDir } from './data-lock.ts';
import { Store } from './store.ts';

/** Open streams and requests get this long to finish on shutdown before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 3000;

const HELP = `Usage
  agent-ops serve [options]

Starts the ingest server and the dashboard.

Options
  --port <n>        port to listen on (env PORT)                          default 8787
  --host <addr>     address to bind; 0.0.0.0 exposes it to the network     default 127.0.0.1
  --data <dir>      data directory (env AGENTOPS_DATA_DIR)                  default ./data
  --fsync <mode>    batch: ack after write(2), fsync every 100 ms;
                    always: ack after fsync; never: leave it to the OS     default batch
  --retention <n>   keep at most n events, dropping whole old segments
                    (env EVENT_RETENTION_MAX)                               default unlimited
  -h, --help        show this help

Environment
  AGENTOPS_API_KEY     require this key on /api/* and /health (x-api-key or Bearer)
  AGENTOPS_LOG_LEVEL   quiet: no request log on stderr                     default info

Examples
  agent-ops serve
  agent-ops serve --port 9000 --data /var/lib/agent-ops --fsync always
  AGENTOPS_API_KEY=secret agent-ops serve --host 0.0.0.0
`;

class UsageError extends Error {}

function integer(
  raw: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  try {
    return parseIntParam(raw ?? null, name, fallback, min, max);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseOptions(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        fsync: { type: 'string' },
        retention: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const env = process.env;
  const fsync = values.fsync ?? 'batch';
  if (!(FSYNC_MODES as readonly string[]).includes(fsync)) {
    throw new UsageError(`--fsync must be one of ${FSYNC_MODES.join(', ')}; got ${quote(fsync)}`);
  }
  const retention = values.retention ?? env.EVENT_RETENTION_MAX;
  return {
    help: values.help === true,
    port: integer(values.port ?? env.PORT, '--port', DEFAULT_PORT, 0, 65535),
    host: values.host ?? DEFAULT_HOST,
    dataDir: resolve(values.data ?? env.AGENTOPS_DATA_DIR ?? './data'),
    fsync: fsync as FsyncMode,
    retentionMax: retention
      ? integer(retention, '--retention', 0, 1, Number.MAX_SAFE_INTEGER)
      : undefined,
    apiKey: env.AGENTOPS_API_KEY || undefined,
    quiet: env.AGENTOPS_LOG_LEVEL === 'quiet',
  };
}

/** Log lines are gathered and written once per tick, so logging never blocks a burst of requests. */
function createLog(quiet: boolean): (line: string) => void {
  let buffer = '';
  return (line) => {
    if (quiet) return;
    if (buffer === '')
      setImmediate(() => {
        process.stderr.write(buffer);
        buffer = '';
      });
    buffer += `${line}\n`;
  };
}

export async function serve(argv: string[]): Promise<void> {
  let options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`agent-ops serve: ${error.message}\nRun \`agent-ops serve --help\`\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(HELP);
    return;
  }
  const warn = (message: string) => process.stderr.write(`agent-ops: warning: ${message}\n`);
  mkdirSync(options.dataDir, { recursive: true });
  let unlock: () => void;
  try {
    unlock = lockDataDir(options.dataDir);
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    process.stderr.write(`agent-ops serve: ${error.message}\n`);
    process.exit(1);
  }
  const store = new Store(options.dataDir, {
    fsync: options.fsync,
    retentionMax: options.retentionMax,
    warn,
  });
  const log = createLog(options.quiet);
  const dashboardDir = fileURLToPath(new URL('./dashboard/', import.meta.url));
  const app = createApp({
    store,
    apiKey: options.apiKey,
    dashboardDir,
    log,
    logRequests: !options.quiet,
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, app.handle);

  // Requests Node's parser refuses never reach a route; they still get a JSON error.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const message =
      status === 431
        ? 'request headers are larger than the server accepts'
        : `malformed HTTP request: ${error.code ?? error.message}`;
    const body = JSON.stringify({ error: message });
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
  });

  let inFlight = 0;
  let stopping = false;
  server.on('request', (_req, res) => {
    inFlight++;
    res.on('close', () => {
      if (--inFlight === 0 && stopping) server.closeAllConnections();
    });
  });

  server.on('error', (error: NodeJS.ErrnoException) => {
    if (server.listening) {
      // An accept that failed (out of file descriptors): that connection is lost, the server is not.
      log(`cannot accept a connection: ${error.message}`);
      return;
    }
    const reason =
      error.code === 'EADDRINUSE'
        ? `port ${options.port} on ${options.host} is in use; pass --port <another> or stop what is using it`
        : error.message;
    process.stderr.write(`agent-ops serve: ${reason}\n`);
    store.close();
    unlock();
    process.exit(1);
  });

  server.listen(options.port, options.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    const stats = store.stats();
    process.stdout.write(
      `agent-ops ${VERSION} listening on ${url}\n` +
        `  dashboard  ${url}/\n` +
        `  data       ${options.dataDir} (${stats.runs} runs, ${stats.events} events; fsync ${options.fsync})\n` +
        `  api key    ${options.apiKey ? 'required (AGENTOPS_API_KEY)' : 'not required (set AGENTOPS_API_KEY to require one)'}\n`,
    );
  });

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!options.quiet) process.stderr.write(`agent-ops: ${signal}, shutting down\n`);
    server.close();
    app.close();
    // Streams are ended; once no request is in flight, nothing else is worth waiting for.
    if (inFlight === 0) server.closeAllConnections();
    else server.closeIdleConnections();
    const finish = () => {
      store.close();
      unlock();
      process.exit(0);
    };
    setTimeout(() => {
      server.closeAllConnections();
      finish();
    }, SHUTDOWN_GRACE_MS).unref();
    server.on('close', finish);
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
