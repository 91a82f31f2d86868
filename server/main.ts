// `agent-ops serve`: wires already-parsed options into the store and the app, listens, and shuts
// down cleanly.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { DEFAULT_NOTIFY_MIN_DURATION_MS, VERSION } from '../shared/constants.ts';
import { isLoopbackHost } from '../shared/loopback.ts';
import type { ServeOptions } from '../shared/types.ts';
import { createApp } from './create-app.ts';
import { DataDirInUseError, lockDataDir } from './data-lock.ts';
import { Store } from './store.ts';

/** Open streams and requests get this long to finish on shutdown before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 3000;
/** Longer than the usual proxy's 60 s idle timeout, so the proxy closes first and never races us. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** A connection that has not sent whole request headers by then is answered 408 and closed. */
const HEADERS_TIMEOUT_MS = 10_000;
/** How often Node checks connections against the header timeout. */
const CONNECTIONS_CHECK_MS = 1000;
/**
 * Connections beyond this are closed as they arrive, so a flood cannot exhaust the process's file
 * descriptors: under a default `ulimit -n` of 1024 it leaves room for the store's open files.
 */
const MAX_CONNECTIONS = 900;

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

/** Starts the server with options the CLI has parsed (cli/commands/serve.ts). */
export async function serve(options: ServeOptions): Promise<void> {
  const { store, unlock } = openStore(options);
  if (options.insecureNoKey && !options.apiKey && !isLoopbackHost(options.host)) {
    process.stderr.write(
      `agent-ops: warning: listening on ${options.host} with no API key (--insecure-no-key): anyone who can reach this port can read, stop and delete every run\n`,
    );
  }
  const log = createLog(options.quiet);
  let baseUrl: string | undefined;
  const app = createApp({
    store,
    notify: {
      urls: options.notify ?? [],
      minRunMs: options.notifyMinDurationMs ?? DEFAULT_NOTIFY_MIN_DURATION_MS,
    },
    baseUrl: () => baseUrl,
    apiKey: options.apiKey,
    guard: {
      host: options.host,
      allowHosts: options.allowHosts ?? [],
      corsOrigins: options.corsOrigins ?? [],
    },
    dashboardDir: fileURLToPath(new URL('./dashboard/', import.meta.url)),
    log,
    logRequests: !options.quiet,
    lostAfterMs: options.lostAfterMs,
    otlp: options.otlp,
  });
  const server = createServer(
    {
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    },
    app.handle,
  );
  server.maxConnections = MAX_CONNECTIONS;
  answerClientErrors(server);
  const inFlight = countRequests(server);

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
    process.stderr.write(`agent-ops: ${reason}\n`);
    store.close();
    unlock();
    process.exit(1);
  });
  server.listen(options.port, options.host, () => {
    baseUrl = announce(server, store, options);
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!options.quiet) process.stderr.write(`agent-ops: ${signal}, shutting down\n`);
    server.close();
    app.close();
    // Streams are ended; once no request is in flight, nothing else is worth waiting for.
    inFlight.whenIdle(() => server.closeAllConnections());
    server.closeIdleConnections();
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

/** The store over a data directory no other server holds; a held one ends the process (exit 1). */
function openStore(options: ServeOptions): { store: Store; unlock(): void } {
  let unlock: (() => void) | undefined;
  try {
    mkdirSync(options.dataDir, { recursive: true });
    unlock = lockDataDir(options.dataDir);
    const warn = (message: string) => process.stderr.write(`agent-ops: warning: ${message}\n`);
    const store = new Store(options.dataDir, {
      fsync: options.fsync,
      retentionMax: options.retentionMax,
      warn,
    });
    return { store, unlock };
  } catch (error) {
    unlock?.();
    const message =
      error instanceof DataDirInUseError
        ? error.message
        : `cannot use the data directory ${options.dataDir}: ${dataDirProblem(error)}`;
    process.stderr.write(`agent-ops: ${message}\n`);
    process.exit(1);
  }
}

/** Why a data directory cannot be used, in words, for the one line the server exits with. */
function dataDirProblem(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EROFS') return 'it is on a read-only file system; pass --data <a writable dir>';
  if (code === 'EACCES' || code === 'EPERM')
    return 'permission denied; pass --data <a dir this user can write> or fix its permissions';
  if (code === 'ENOSPC') return 'the disk is full';
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'it is not a directory';
  if (code === 'ENOENT') return 'it cannot be made there (is the parent read-only?)';
  if (code !== undefined) return message;
  throw error;
}

/** Requests Node's parser refuses never reach a route; they still get a JSON error. */
function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const [status, reason, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [
            431,
            'Request Header Fields Too Large',
            'request headers are larger than the server accepts',
          ]
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [
              408,
              'Request Timeout',
              `the request headers did not arrive within ${HEADERS_TIMEOUT_MS / 1000} s`,
            ]
          : [400, 'Bad Request', `malformed HTTP request: ${error.code ?? error.message}`];
    const body = JSON.stringify({ error: message });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
  });
}

/** Counts requests in flight, so shutdown can close every connection once the last one is done. */
function countRequests(server: Server): { whenIdle(callback: () => void): void } {
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  server.on('request', (_req, res) => {
    inFlight++;
    res.on('close', () => {
      if (--inFlight === 0) onIdle?.();
    });
  });
  return {
    whenIdle(callback) {
      onIdle = callback;
      if (inFlight === 0) callback();
    },
  };
}

/** The lines a person starting the server reads first: where it is, its data, whether a key is needed. */
/** Says where the server listens; returns its URL. */
function announce(server: Server, store: Store, options: ServeOptions): string {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  const stats = store.stats();
  process.stdout.write(
    `agent-ops ${VERSION} listening on ${url}\n` +
      `  dashboard  ${url}/\n` +
      `  data       ${options.dataDir} (${stats.runs} runs, ${stats.events} events; fsync ${options.fsync})\n` +
      `  api key    ${options.apiKey ? 'required (AGENTOPS_API_KEY)' : 'not required (set AGENTOPS_API_KEY to require one)'}\n` +
      (options.notify?.length
        ? `  notify     ${options.notify.map((url) => `${new URL(url).origin}/…`).join(', ')}\n`
        : '') +
      (options.otlp
        ? `  otlp       exporting to ${options.otlp.tracesUrl ?? options.otlp.endpoint}\n`
        : ''),
  );
  return url;
}
