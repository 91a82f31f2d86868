// What the timeline's virtual list reads rows from: every event of the run by seq (EventPages), or
// the events that match a filter (FilteredEvents).
import type { AgentEvent } from '../shared/types.ts';

export interface TimelineSource {
  readonly count: number;
  /** The event of row `index`, or undefined while it loads. */
  at(index: number): AgentEvent | undefined;
  indexOfSeq(seq: number): number;
  /** Rows [first, last] are visible: load whatever of them is missing. */
  ensure(first: number, last: number): void;
  /** A live event, in seq order; returns whether it added a row. */
  append(event: AgentEvent): boolean;
  /** A line for the user about what is shown (e.g. a cap), or empty. */
  note(): string;
}
