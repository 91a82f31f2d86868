// What a tab of the run view is. A new tab is one module exporting a RunTabFactory and one line in
// run-view.ts's RUN_TABS; the view feeds every tab the run's live events and its changes.
import type { AgentEvent, Run } from '../shared/types.ts';

export interface RunTabContext {
  readonly runId: string;
  run(): Run;
  /** The newest seq the view has received from the run's stream. */
  receivedSeq(): number;
  /** Opens an event in the inspector. */
  inspect(event: AgentEvent): void;
  /** Shows or hides this tab's button (a tab with nothing to show for this run stays hidden). */
  setAvailable(available: boolean): void;
  /** Redraws this tab soon (at most every PANEL_REDRAW_MS) if it is the one shown. */
  scheduleRedraw(): void;
}

export interface RunTab {
  readonly id: string;
  readonly element: HTMLElement;
  /** The tab button's text for this run ("Tool calls 12"). */
  label(run: Run): string;
  /** Hidden until the tab calls setAvailable(true); shown from the start when not set. */
  readonly initiallyAvailable?: boolean;
  /** The search box `/` focuses while this tab is shown. */
  readonly search?: HTMLInputElement;
  /** The tab was shown: load what it needs. */
  show?(): void;
  /** Every event of the run's stream, in seq order. */
  receive?(event: AgentEvent): void;
  /** Draws the tab (it is shown); `now` ticks once a second. */
  render?(now: number): void;
  /** Once a second while the tab is shown. */
  tick?(now: number): void;
  /** Gives the keyboard to the tab's main list (after Esc leaves its search box). */
  focus?(): void;
  close?(): void;
}

export type RunTabFactory = (context: RunTabContext) => RunTab;
