// Whether anything is carrying out this run, in plain words: a producer holding the control channel,
// one that disconnected (and how long ago, from `control.detachedAt`), one the server gave up on
// (the run ended with reason producer-lost), or none at all (the original CLI, curl).
import { PRODUCER_LOST_MESSAGE_PREFIX } from '../shared/constants.ts';
import type { Run } from '../shared/types.ts';
import { isTerminalRun } from './run-status.ts';

export type ProducerState = 'attached' | 'disconnected' | 'lost' | 'none' | 'queued' | 'ended';

export interface ProducerView {
  state: ProducerState;
  /** Empty when there is nothing to say (a run that ended normally). */
  text: string;
  title: string;
}

/** "12 s ago", "3 min ago", "2 h ago". */
export function formatSince(iso: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

export function producerView(run: Run, now: number): ProducerView {
  if (run.status === 'error' && run.errorMessage?.startsWith(PRODUCER_LOST_MESSAGE_PREFIX)) {
    return {
      state: 'lost',
      text: 'producer lost',
      title: 'The server ended this run because its producer went away and did not come back',
    };
  }
  if (isTerminalRun(run)) return { state: 'ended', text: '', title: '' };
  if (run.status === 'queued') {
    return {
      state: 'queued',
      text: 'waiting for a worker',
      title: 'A worker that offers this task claims it; its worker then carries out the controls',
    };
  }
  const control = run.control;
  if (control?.producerAttached) {
    return {
      state: 'attached',
      text: 'producer attached',
      title: 'A producer holds the control channel: it carries out pause / resume / stop',
    };
  }
  if (control?.detachedAt) {
    return {
      state: 'disconnected',
      text: `producer disconnected ${formatSince(control.detachedAt, now)}`,
      title:
        'The producer closed its control channel. If it does not come back the server ends the run as lost; until then pause / resume / stop are applied by the server',
    };
  }
  return {
    state: 'none',
    text: 'no producer connected',
    title:
      'Nothing holds this run’s control channel (a plain HTTP producer): pause / resume / stop are applied by the server at once',
  };
}
