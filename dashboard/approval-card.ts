// Pending approvals, impossible to miss: a card at the top of the run view for each one (title,
// detail, tool, arguments as pretty JSON text, Approve / Deny with an optional note, the time
// left), a badge on the run in the list, and the count in the tab title. A decision made
// elsewhere (the CLI, another tab, a timeout) removes the card as soon as it is written.
import {
  APPROVAL_DECIDED,
  type ApprovalDecision,
  type ListedApproval,
  type PendingApproval,
} from '../shared/approvals.ts';
import type { AgentEvent, Run } from '../shared/types.ts';
import { apiJson, runPath } from './api-client.ts';
import { element } from './element.ts';
import { formatAbsolute, formatDuration } from './format.ts';

/** Who the dashboard's decisions are recorded as. */
export const DASHBOARD_DECIDER = 'dashboard';

interface Card {
  element: HTMLElement;
  left: HTMLElement;
  entry: PendingApproval;
}

export class ApprovalCards {
  readonly element: HTMLElement;
  #runId: string;
  #cards = new Map<string, Card>();

  constructor(run: Run) {
    this.#runId = run.id;
    this.element = element('section', {
      class: 'approvals',
      'aria-label': 'Pending approvals',
      hidden: true,
    });
    this.update(run);
  }

  /** Shows a card for each pending approval of the run, and only those. */
  update(run: Run): void {
    const pending = run.control?.approvals ?? [];
    const ids = new Set(pending.map((entry) => entry.approvalId));
    for (const id of [...this.#cards.keys()]) if (!ids.has(id)) this.#remove(id);
    for (const entry of pending) if (!this.#cards.has(entry.approvalId)) this.#add(entry);
    this.tick(Date.now());
  }

  /** An event from the run's stream: a decision removes its card at once. */
  receive(event: AgentEvent): void {
    if (event.type !== APPROVAL_DECIDED) return;
    this.#remove(String(event.payload.approvalId));
  }

  tick(now: number): void {
    for (const { left, entry } of this.#cards.values()) {
      if (entry.expiresAt === undefined) continue;
      const ms = Math.max(0, Date.parse(entry.expiresAt) - now);
      left.textContent = `${formatDuration(ms)} left, then ${entry.onTimeout ?? 'deny'}`;
    }
  }

  #remove(id: string): void {
    this.#cards.get(id)?.element.remove();
    this.#cards.delete(id);
    this.element.hidden = this.#cards.size === 0;
  }

  #add(entry: PendingApproval): void {
    const left = element('span', { class: 'approval-left' });
    if (entry.expiresAt) left.title = `decided by a timeout at ${formatAbsolute(entry.expiresAt)}`;
    const detail = element('div', { class: 'approval-detail' });
    const note = element('input', {
      type: 'text',
      class: 'approval-note',
      placeholder: 'Note (optional)',
      'aria-label': `Note for ${entry.title}`,
      maxlength: 2000,
    });
    const failure = element('p', { class: 'approval-error', role: 'alert', hidden: true });
    const button = (decision: ApprovalDecision, label: string) => {
      const node = element('button', {
        type: 'button',
        class: `approval-${decision}`,
        text: label,
        'aria-label': `${label}: ${entry.title}`,
      });
      node.addEventListener('click', () => void this.#decide(entry, decision, note, failure));
      return node;
    };
    const card = element(
      'article',
      { class: 'approval-card', 'aria-label': `Approval needed: ${entry.title}` },
      element(
        'div',
        { class: 'approval-head' },
        element('span', { class: 'approval-flag', text: 'Approval needed' }),
        entry.toolName === undefined
          ? undefined
          : element('span', { class: 'approval-tool', text: entry.toolName }),
        left,
      ),
      element('h3', { class: 'approval-title', text: entry.title }),
      detail,
      element(
        'div',
        { class: 'approval-actions' },
        note,
        button('approve', 'Approve'),
        button('deny', 'Deny'),
      ),
      failure,
    );
    this.#cards.set(entry.approvalId, { element: card, left, entry });
    this.element.append(card);
    this.element.hidden = false;
    void this.#showDetail(entry, detail);
  }

  /** The detail and the arguments live in the approval.requested event. */
  async #showDetail(entry: PendingApproval, into: HTMLElement): Promise<void> {
    let event: AgentEvent | undefined;
    try {
      [event] = await apiJson<AgentEvent[]>(
        runPath(this.#runId, `/events?after=${entry.seq - 1}&limit=1`),
      );
    } catch {
      return; // the card still decides; it only lacks the detail
    }
    const payload = event?.payload ?? {};
    if (typeof payload.detail === 'string')
      into.append(element('p', { class: 'approval-text', text: payload.detail }));
    if (payload.args !== undefined)
      into.append(
        element('pre', {
          class: 'approval-args',
          'aria-label': 'Arguments',
          text: JSON.stringify(payload.args, null, 2),
        }),
      );
  }

  async #decide(
    entry: PendingApproval,
    decision: ApprovalDecision,
    note: HTMLInputElement,
    failure: HTMLElement,
  ): Promise<void> {
    const card = this.#cards.get(entry.approvalId);
    const buttons = card?.element.querySelectorAll('button') ?? [];
    for (const node of buttons) node.disabled = true;
    const body: Record<string, string> = { decision, by: DASHBOARD_DECIDER };
    if (note.value.trim() !== '') body.note = note.value.trim();
    try {
      await apiJson(runPath(this.#runId, `/approvals/${encodeURIComponent(entry.approvalId)}`), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      this.#remove(entry.approvalId);
    } catch (error) {
      // Already decided elsewhere (409 names who), or the run ended: say so on the card.
      failure.textContent = error instanceof Error ? error.message : String(error);
      failure.hidden = false;
      for (const node of buttons) node.disabled = false;
    }
  }
}

/** The badge on a run in the list: how many approvals wait on it. */
export function pendingBadge(): HTMLElement {
  return element('span', { class: 'approval-badge', hidden: true });
}

export function showPending(badge: HTMLElement, run: Run): void {
  const count = run.control?.approvals?.length ?? 0;
  badge.hidden = count === 0;
  badge.textContent = count === 0 ? '' : `${count} waiting`;
  badge.title = count === 0 ? '' : `${count} approval${count === 1 ? '' : 's'} waiting`;
}

/** The tab title, prefixed with the number of approvals waiting across runs: "(2) …". */
export class PendingTitle {
  #counts = new Map<string, number>();
  /** Runs whose count came from a live change: newer than what load() fetched. */
  #live = new Set<string>();
  #base = 'agent-ops';

  /** Every pending approval on the server, so runs outside the loaded list count too. */
  async load(): Promise<void> {
    try {
      const pending = await apiJson<ListedApproval[]>('/api/approvals');
      for (const item of pending)
        this.#counts.set(item.runId, (this.#counts.get(item.runId) ?? 0) + 1);
    } catch {
      return; // the count then comes from run changes alone
    }
    this.#apply();
  }

  update(run: Run): void {
    const count = run.control?.approvals?.length ?? 0;
    this.#live.add(run.id);
    if (count === (this.#counts.get(run.id) ?? 0)) return;
    if (count === 0) this.#counts.delete(run.id);
    else this.#counts.set(run.id, count);
    this.#apply();
  }

  setBase(title: string): void {
    this.#base = title;
    this.#apply();
  }

  #apply(): void {
    let total = 0;
    for (const count of this.#counts.values()) total += count;
    document.title = total === 0 ? this.#base : `(${total}) ${this.#base}`;
  }
}
