// Where a stepwise producer can hold still: between steps. A pause asked for in the middle of a
// step takes effect (and is confirmed) once that step's events are all out, so nothing of a step
// is recorded after the run says it paused.
export class StepBoundary {
  #inStep = false;
  #waiters: Array<() => void> = [];

  begin(): void {
    this.#inStep = true;
  }

  end(): void {
    this.#inStep = false;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** True now between steps; otherwise resolves true when the current step ends. */
  reached(): true | Promise<true> {
    if (!this.#inStep) return true;
    return new Promise((resolve) => this.#waiters.push(() => resolve(true)));
  }
}
