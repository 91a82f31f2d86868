// A one-line progress bar for a terminal: step/total, elapsed and an estimate of what is left.
export const BAR_WIDTH = 24;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #total: number;
  readonly #startedAt = performance.now();

  constructor(stream: NodeJS.WriteStream, total: number) {
    this.#stream = stream;
    this.#total = total;
  }

  update(done: number, label = ''): void {
    const elapsed = performance.now() - this.#startedAt;
    const filled = Math.round((done / this.#total) * BAR_WIDTH);
    const eta = done === 0 ? '' : `  eta ${seconds((elapsed / done) * (this.#total - done))}`;
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
    const line = `${bar} ${done}/${this.#total}  ${seconds(elapsed)}${eta}  ${label}`;
    const width = this.#stream.columns ?? 80;
    this.#stream.write(`\r\u001b[2K${line.slice(0, width - 1)}`);
  }

  clear(): void {
    this.#stream.write('\r\u001b[2K');
  }
}
