// `agent-ops serve`: wires already-parsed options into the store and the app, listens, and shuts
// down cleanly.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { DEFAULT_NOTIFY_MIN_DURATION_MS, VERSION } from '../shared/constants.ts';
import type { ServeOptions } from '../shared/types.ts';
import { createApp } from './create-app.ts';
import { DataDirInUseError, lockDataDir } from './data-lock.ts';
import { Store } from './store.ts';

/** Open streams and requests get this long to finish on shutdown before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 3000;
/** Longer than the usual proxy's 60 s idle timeout, so the proxy closes first and never races us. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

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
  let baseUrl: string | undefined;
  const app = createApp({
    store,
    notify: {
      urls: options.notify ?? [],
      minRunMs: options.notifyMinDurationMs ?? DEFAULT_NOTIFY_MIN_DURATION_MS,
    },
    baseUrl: () => baseUrl,
    apiKey: options.apiKey,
    dashboardDir: fileURLToPath(new URL('./dashboard/', import.meta.url)),
    log: createLog(options.quiet),
    logRequests: !options.quiet,
    lostAfterMs: options.lostAfterMs,
  });
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, app.handle);
  answerClientErrors(server);
  const inFlight = countRequests(server);

  server.on('error', (error: NodeJS.ErrnoException) => {
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
  mkdirSync(options.dataDir, { recursive: true });
  let unlock: () => void;
  try {
    unlock = lockDataDir(options.dataDir);
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    process.stderr.write(`agent-ops: ${error.message}\n`);
    process.exit(1);
  }
  const warn = (message: string) => process.stderr.write(`agent-ops: warning: ${message}\n`);
  const store = new Store(options.dataDir, {
    fsync: options.fsync,
    retentionMax: options.retentionMax,
    warn,
  });
  return { store, unlock };
}

/** Requests Node's parser refuses never reach a route; they still get a JSON error. */
function answerClientErrors(server: Server): void {
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
        : ''),
  );
  return url;
}
