// Approval decisions and directives reach the producer on its control channel: each one is sent
// as it is written, and a producer that attaches later is sent every one after its Last-Event-ID.
import {
  APPROVAL_DECIDED,
  DIRECTIVE,
  type ApprovalMessage,
  type DirectiveMessage,
} from '../shared/approvals.ts';
import { EVENTS_MAX_LIMIT } from '../shared/constants.ts';
import { formatSse } from '../shared/sse.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import type { ControlChannels } from './control-channels.ts';
import type { Store, StoreListener } from './store.ts';

/** The control-channel message an approval.decided or directive event becomes. */
export function channelMessageOf(event: AgentEvent): ApprovalMessage | DirectiveMessage {
  const { payload } = event;
  if (event.type === DIRECTIVE)
    return {
      action: 'directive',
      directiveId: String(payload.directiveId),
      text: String(payload.text),
    };
  const message: ApprovalMessage = {
    action: 'approval',
    approvalId: String(payload.approvalId),
    decision: payload.decision === 'approve' ? 'approve' : 'deny',
  };
  if (typeof payload.note === 'string') message.note = payload.note;
  return message;
}

export class ControlMessages implements StoreListener {
  #store: Store;
  #control: ControlChannels;

  constructor(store: Store, control: ControlChannels) {
    this.#store = store;
    this.#control = control;
    control.addReplaySource((runId, after) => this.#missed(runId, after));
  }

  onEvent(run: Run, event: AgentEvent): void {
    if (event.type !== APPROVAL_DECIDED && event.type !== DIRECTIVE) return;
    this.#control.send(run.id, event.seq, channelMessageOf(event));
  }

  /** Scans the run only when it holds a message newer than what the producer saw. */
  #missed(runId: string, after: number): Array<{ seq: number; message: string }> {
    const run = this.#store.getRun(runId);
    if (!run || (run.control?.lastMessageSeq ?? 0) <= after) return [];
    const events = this.#store.readEvents(runId, {
      after,
      limit: EVENTS_MAX_LIMIT,
      types: [APPROVAL_DECIDED, DIRECTIVE],
    });
    return events.map((event) => ({
      seq: event.seq,
      message: formatSse(JSON.stringify(channelMessageOf(event)), event.seq),
    }));
  }
}
