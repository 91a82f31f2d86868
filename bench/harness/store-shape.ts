// The store the `store` scenario fills: 10,000,000 events in 100,000 runs, shaped like a team's
// server after months of use. Most runs are short (a CI smoke test, a quick CLI run), a few
// thousand are an agent's working session, and a handful ran for days. Every run has a title and
// metadata, as the CLI gives it, and every event a producer id (a random UUID, as the CLI's sender
// gives each), so the store holds, and writing to a run loads, the id set real traffic makes.
//
//   tier     runs     events each          events
//   small    96,000   1–24 (12.5 on avg)   1,200,000
//   medium    3,900   600                  2,340,000
//   large        96   25,625               2,460,000
//   huge          4   1,000,000            4,000,000
//   all     100,000                       10,000,000
//
// Tiers are spread through creation order (a huge run every 25,000, a large one about every
// 1,000), so the newest-first list opens on small runs, as it would. 88% of runs end completed,
// 8% error, 4% are still running (no ending event); two of the huge runs are still running.

export const STORE_RUNS = 100_000;
export const STORE_EVENTS = 10_000_000;
export const HUGE_RUN_EVENTS = 1_000_000;
const HUGE_EVERY = 25_000;
const LARGE_EVERY = 1_000;
const LARGE_RUN_EVENTS = 25_625;
const MEDIUM_EVERY = 25;
const MEDIUM_RUN_EVENTS = 600;
const SMALL_RUN_MAX_EVENTS = 24;

export type Ending = 'completed' | 'error' | undefined;

export interface RunShape {
  id: string;
  events: number;
  ending: Ending;
}

export const storeRunId = (i: number): string => `run-${String(i).padStart(6, '0')}`;

/** The commit a run reports in its metadata: distinct per run, so a search can find one run. */
export const commitOf = (i: number): string =>
  ((i * 2_654_435_761) % 0xfffffff).toString(16).padStart(7, '0');

export function runShape(i: number): RunShape {
  const id = storeRunId(i);
  if (i % HUGE_EVERY === HUGE_EVERY / 2) {
    return { id, events: HUGE_RUN_EVENTS, ending: i < STORE_RUNS / 2 ? 'completed' : undefined };
  }
  // Huge slots are among the large ones, and large ones among the medium ones (500 = 20 × 25).
  if (i % LARGE_EVERY === LARGE_EVERY / 2)
    return { id, events: LARGE_RUN_EVENTS, ending: ending(i) };
  if (i % MEDIUM_EVERY === 0) return { id, events: MEDIUM_RUN_EVENTS, ending: ending(i) };
  // Small runs take every other slot; their sizes cycle 1…24, so 96,000 of them average 12.5.
  const small = i - Math.floor(i / MEDIUM_EVERY) - 1;
  return { id, events: 1 + (small % SMALL_RUN_MAX_EVENTS), ending: ending(i) };
}

function ending(i: number): Ending {
  const bucket = (i * 7) % 100;
  return bucket < 88 ? 'completed' : bucket < 96 ? 'error' : undefined;
}
