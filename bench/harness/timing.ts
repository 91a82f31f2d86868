// The measurement window every load scenario shares. BENCH_MEASURE_MS shortens it for a quick look.

export const WARMUP_MS = 1000;
export const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 5000);
/** Workers start sending together this long after they are told to, so they start in step. */
export const START_DELAY_MS = 300;
