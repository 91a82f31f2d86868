// The bench's worker processes (load-worker.ts, subscribe-worker.ts, stall-worker.ts,
// store-fill-worker.ts), forked and spoken to over IPC, so that no load shares an event loop with
// the server it measures or with the bench.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './children.ts';

export const LOAD_WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));
export const SUBSCRIBE_WORKER = fileURLToPath(new URL('./subscribe-worker.ts', import.meta.url));
export const STALL_WORKER = fileURLToPath(new URL('./stall-worker.ts', import.meta.url));
export const STORE_FILL_WORKER = fileURLToPath(new URL('./store-fill-worker.ts', import.meta.url));

/** How long a worker may take to start and say 'online'. */
const ONLINE_TIMEOUT_MS = 30_000;

type WorkerMessage = { type: string; [key: string]: unknown };

export class Worker {
  readonly child: ChildProcess;
  #inbox: WorkerMessage[] = [];
  #wake: (() => void) | undefined;
  #exit: string | undefined;

  constructor(file: string) {
    this.child = track(fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.child.on('message', (message: WorkerMessage) => {
      this.#inbox.push(message);
      this.#wake?.();
    });
    this.child.once('exit', (code, signal) => {
      this.#exit = `worker ${file} exited (${code ?? signal})`;
      this.#wake?.();
    });
  }

  /** `count` workers of `file`, once each has said 'online'. */
  static async start(file: string, count: number): Promise<Worker[]> {
    const workers = Array.from({ length: count }, () => new Worker(file));
    await Promise.all(workers.map((w) => w.next('online', ONLINE_TIMEOUT_MS)));
    return workers;
  }

  send(message: unknown): void {
    this.child.send(message as object);
  }

  /** The next message of `type`; a worker's 'error' message or its exit throws. */
  async next<T = WorkerMessage>(type: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#inbox.findIndex((m) => m.type === type || m.type === 'error');
      if (index !== -1) {
        const [message] = this.#inbox.splice(index, 1);
        if (message!.type === 'error') throw new Error(`worker failed: ${String(message!.error)}`);
        return message as T;
      }
      if (this.#exit) throw new Error(`${this.#exit} while the bench waited for "${type}"`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`worker sent no "${type}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}
