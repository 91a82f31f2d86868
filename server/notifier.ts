// `serve --notify <url>`: a small JSON message POSTed when an approval is requested, when a run
// ends in error (or is lost), and when a run completes after running longer than
// --notify-min-duration. The store listener only queues; delivery runs on its own, retrying with
// backoff, so a slow or failing receiver never holds ingest. Its counters show in /health.
//
// One message shape is accepted as-is by both kinds of webhook we aim at: Slack-style incoming
// webhooks read `text`; ntfy's JSON publishing reads `topic`, `title`, `message`, `tags`,
// `priority` and `click` (ntfy wants JSON at its root URL: `--notify https://ntfy.sh/#mytopic`
// posts to https://ntfy.sh/ with topic "mytopic", the fragment never being sent).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { APPROVAL_REQUESTED } from '../shared/approvals.ts';
import { runDashboardUrl } from '../shared/run-url.ts';
import type { AgentEvent, NotifyTargetStats, Run } from '../shared/types.ts';
import { isTerminal } from '../shared/validate.ts';
import type { Store, StoreListener } from './store.ts';

/** Messages waiting per target beyond this drop the oldest (counted in `dropped`). */
export const NOTIFY_QUEUE_MAX = 1000;
/** A delivery is retried this many times with backoff, then given up (counted in `failed`). */
export const NOTIFY_MAX_ATTEMPTS = 8;
export const NOTIFY_BACKOFF_FIRST_MS = 500;
export const NOTIFY_BACKOFF_MAX_MS = 60_000;
/** One POST may take this long before it counts as failed. */
export const NOTIFY_REQUEST_TIMEOUT_MS = 10_000;

export type NotifyKind = 'approval.requested' | 'run.error' | 'run.lost' | 'run.completed';

export interface NotifyMessage {
  text: string;
  topic?: string;
  title: string;
  message: string;
  tags: string[];
  priority: number;
  click?: string;
  kind: NotifyKind;
  runId: string;
  runTitle: string;
  approvalId?: string;
}

interface Target {
  url: URL;
  topic: string | undefined;
  /** Shown in /health: the origin only, since webhook paths are secrets (Slack, ntfy topics). */
  shown: string;
  queue: Array<{ body: string; attempts: number }>;
  busy: boolean;
  stats: NotifyTargetStats;
}

export interface NotifierOptions {
  urls: readonly string[];
  minRunMs: number;
  /** The server's own address once it listens, for links to the run. */
  baseUrl(): string | undefined;
}

const LOOKS = {
  'approval.requested': { tags: ['hourglass'], priority: 4, verb: 'waits for approval' },
  'run.error': { tags: ['x'], priority: 4, verb: 'failed' },
  'run.lost': { tags: ['warning'], priority: 4, verb: 'lost its producer' },
  'run.completed': { tags: ['white_check_mark'], priority: 3, verb: 'completed' },
} as const satisfies Record<NotifyKind, { tags: string[]; priority: number; verb: string }>;

export class Notifier implements StoreListener {
  #targets: Target[];
  #options: NotifierOptions;
  /** Runs seen not yet finished: finishing is announced once, never for a run that ended earlier. */
  #live = new Set<string>();
  #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(store: Store, options: NotifierOptions) {
    this.#options = options;
    this.#targets = options.urls.map((raw) => {
      const url = new URL(raw);
      const topic = url.hash.length > 1 ? decodeURIComponent(url.hash.slice(1)) : undefined;
      url.hash = '';
      return {
        url,
        topic,
        shown: `${url.origin}/…`,
        queue: [],
        busy: false,
        stats: { target: `${url.origin}/…`, sent: 0, failed: 0, dropped: 0, pending: 0 },
      };
    });
    for (const run of store.runsNewestFirst()) if (!isTerminal(run.status)) this.#live.add(run.id);
  }

  stats(): NotifyTargetStats[] {
    return this.#targets.map((target) => ({ ...target.stats, pending: target.queue.length }));
  }

  onEvent(run: Run, event: AgentEvent): void {
    if (event.type !== APPROVAL_REQUESTED) return;
    const { title, approvalId } = event.payload;
    // Only a request that is now pending (not a repeat, not on a finished run) is news.
    if (!run.control?.approvals?.some((entry) => entry.seq === event.seq)) return;
    this.#send('approval.requested', run, String(title), String(approvalId));
  }

  onRunChange(run: Run): void {
    if (!isTerminal(run.status)) {
      this.#live.add(run.id);
      return;
    }
    if (!this.#live.delete(run.id)) return;
    if (run.status === 'error') {
      const lost = run.errorMessage?.startsWith('producer lost') === true;
      this.#send(lost ? 'run.lost' : 'run.error', run, run.errorMessage ?? 'no message');
    } else if (run.status === 'completed') {
      const ms = Date.parse(run.endedAt ?? '') - Date.parse(run.startedAt);
      if (ms >= this.#options.minRunMs)
        this.#send('run.completed', run, `after ${Math.round(ms / 1000)} s`);
    }
  }

  onRunDeleted(id: string): void {
    this.#live.delete(id);
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
  }

  #send(kind: NotifyKind, run: Run, detail: string, approvalId?: string): void {
    if (this.#targets.length === 0) return;
    const look = LOOKS[kind];
    const base = this.#options.baseUrl();
    const click = base === undefined ? undefined : runDashboardUrl(base, run.id);
    const title = `agent-ops: run ${run.title} ${look.verb}`;
    const message: NotifyMessage = {
      text: `${title}: ${detail}${click === undefined ? '' : ` ${click}`}`,
      title,
      message: detail,
      tags: [...look.tags],
      priority: look.priority,
      ...(click === undefined ? {} : { click }),
      kind,
      runId: run.id,
      runTitle: run.title,
      ...(approvalId === undefined ? {} : { approvalId }),
    };
    for (const target of this.#targets) {
      const body = JSON.stringify(
        target.topic === undefined ? message : { ...message, topic: target.topic },
      );
      target.queue.push({ body, attempts: 0 });
      if (target.queue.length > NOTIFY_QUEUE_MAX) {
        target.queue.shift();
        target.stats.dropped++;
      }
      this.#pump(target);
    }
  }

  /** Delivers the target's queue in order, one message at a time. */
  #pump(target: Target): void {
    if (target.busy || this.#closed) return;
    const item = target.queue[0];
    if (!item) return;
    target.busy = true;
    post(target.url, item.body).then(
      () => {
        target.queue.shift();
        target.stats.sent++;
        target.busy = false;
        this.#pump(target);
      },
      (error: Error) => {
        target.stats.lastError = error.message;
        target.stats.lastErrorAt = new Date().toISOString();
        item.attempts++;
        if (item.attempts >= NOTIFY_MAX_ATTEMPTS) {
          target.queue.shift();
          target.stats.failed++;
        }
        const delayMs = Math.min(
          NOTIFY_BACKOFF_MAX_MS,
          NOTIFY_BACKOFF_FIRST_MS * 2 ** Math.max(0, item.attempts - 1),
        );
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          target.busy = false;
          this.#pump(target);
        }, delayMs);
        timer.unref();
        this.#timers.add(timer);
      },
    );
  }
}

/** One POST; resolves on a 2xx, rejects naming the status or the network error. */
function post(url: URL, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: NOTIFY_REQUEST_TIMEOUT_MS,
    });
    req.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) resolve();
      else reject(new Error(`answered ${status}`));
    });
    req.on('timeout', () =>
      req.destroy(new Error(`no answer within ${NOTIFY_REQUEST_TIMEOUT_MS} ms`)),
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code ?? error.message)),
    );
    req.end(body);
  });
}
