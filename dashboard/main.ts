// The dashboard's entry: lays out the runs list and the run view, routes #/runs/<id>, and wires
// the keyboard, the once-a-second tick and the catch-up when a hidden tab is shown again.
import { runIdFromDashboardHash } from '../shared/run-url.ts';
import type { Run } from '../shared/types.ts';
import { ApiError, apiJson, runPath } from './api-client.ts';
import { PendingTitle } from './approval-card.ts';
import { element } from './element.ts';
import { RunView } from './run-view.ts';
import { NewRunDialog } from './new-run-dialog.ts';
import { RunsList } from './runs-list.ts';
import { WORKERS_HASH, WorkersView } from './workers-view.ts';

const TICK_MS = 1000;

const main = element('main', { class: 'main' });
const placeholder = element(
  'div',
  { class: 'placeholder' },
  element('p', { text: 'Select a run to watch it live.' }),
  element('p', { class: 'hint', text: '/ search · j / k move · Esc close' }),
);
let view: RunView | undefined;
let routeToken = 0;
/**
 * The run the hash names while no view shows it: being asked of the server, or waiting after a
 * 404 (or a failed answer). It opens as soon as it exists, as a just-queued job's live log does:
 * the runs feed brings every new run, and a feed that (re)connects may have missed one, so either
 * asks again; one that comes while the server is being asked marks that answer as maybe stale.
 */
let wanted: { id: string; state: 'asking' | 'waiting' | 'ask-again' } | undefined;

function askAgain(): void {
  if (wanted?.state === 'waiting') void route();
  else if (wanted?.state === 'asking') wanted.state = 'ask-again';
}

const pendingTitle = new PendingTitle();
const runsList = new RunsList({
  onChange: (run) => {
    pendingTitle.update(run);
    if (view?.run.id === run.id) view.updateRun(run);
    if (wanted?.id === run.id) askAgain();
  },
  onFeedOpen: askAgain,
  onQueueChange: () => view?.queueChanged(),
});
void pendingTitle.load();
document.body.append(element('div', { class: 'app' }, runsList.element, main));
// The queue: a New run button and the Workers view, at the head of the sidebar.
const workersView = new WorkersView();
const newRun = new NewRunDialog(workersView);
const workersLink = element('a', { class: 'workers-link', href: WORKERS_HASH, text: 'Workers' });
runsList.element
  .querySelector('.sidebar-head')
  ?.append(element('div', { class: 'queue-actions' }, newRun.button, workersLink));

function runIdFromHash(): string | undefined {
  return runIdFromDashboardHash(location.hash);
}

async function route(): Promise<void> {
  const token = ++routeToken;
  const id = runIdFromHash();
  runsList.select(id);
  // On a narrow screen the list and the main pane (a run, the workers) are two screens; the
  // stylesheet shows the one routed.
  document.body.dataset.route = id === undefined && location.hash !== WORKERS_HASH ? 'list' : 'run';
  if (location.hash === WORKERS_HASH) {
    wanted = undefined;
    view?.close();
    view = undefined;
    runsList.shareActivity('', undefined);
    document.title = 'Workers · agent-ops';
    main.replaceChildren(workersView.element);
    return;
  }
  if (id !== undefined && view?.run.id === id) return;
  view?.close();
  view = undefined;
  runsList.shareActivity('', undefined);
  if (id === undefined) {
    wanted = undefined;
    pendingTitle.setBase('agent-ops');
    main.replaceChildren(placeholder);
    return;
  }
  // Asked again while waiting, the page keeps saying why it waits until the answer comes.
  if (wanted?.id !== id || wanted.state !== 'waiting') {
    main.replaceChildren(
      element('p', { class: 'placeholder', role: 'status', text: 'Loading run…' }),
    );
  }
  wanted = { id, state: 'asking' };
  let run: Run;
  try {
    run = await apiJson<Run>(runPath(id));
  } catch (error) {
    if (token !== routeToken) return;
    if (wanted.state === 'ask-again') return void route();
    wanted.state = 'waiting';
    const missing = error instanceof ApiError && error.status === 404;
    const message = missing
      ? `No run with id "${id}" yet. It opens here as soon as it exists.`
      : `Could not load the run: ${error instanceof Error ? error.message : String(error)}`;
    main.replaceChildren(
      element('p', { class: 'placeholder', role: missing ? 'status' : 'alert', text: message }),
    );
    return;
  }
  if (token !== routeToken) return;
  wanted = undefined;
  const known = runsList.get(id);
  if (known && Date.parse(known.updatedAt) > Date.parse(run.updatedAt)) run = { ...run, ...known };
  view = new RunView(run, runsList.queue);
  runsList.shareActivity(run.id, view.activity);
  pendingTitle.setBase(`${run.title} · agent-ops`);
  main.replaceChildren(view.element);
}

function isTyping(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  );
}

document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || document.querySelector('dialog[open]'))
    return;
  // Esc closes the innermost thing only: a search box, then the inspector, then the run.
  if (event.key === 'Escape') {
    if (isTyping(event.target)) {
      (event.target as HTMLElement).blur();
      if (view) view.focusTab();
      else runsList.focusList();
    } else if (view?.inspector.open) view.timeline.selectSeq(undefined);
    else if (view) location.hash = '#/';
    return;
  }
  if (isTyping(event.target)) return;
  if (event.key === '/') {
    event.preventDefault();
    (view ? view.search : runsList.search).focus();
  } else if (event.key === 'j' || event.key === 'k') {
    const delta = event.key === 'j' ? 1 : -1;
    if (view) view.timeline.move(delta);
    else {
      const id = runsList.neighbour(delta);
      if (id !== undefined) {
        runsList.select(id);
        document.querySelector<HTMLElement>(`.run-row[aria-current="page"]`)?.focus();
      }
    }
  }
});

window.addEventListener('hashchange', () => void route());
// While the tab is hidden nothing is drawn: the streams keep feeding the data, but the timeline's
// frames, the panels' redraws, the runs list's renders and this tick all wait. Shown again, every
// part draws what arrived at once and a stream waiting to reconnect retries now.
function tick(): void {
  const now = Date.now();
  runsList.tick(now);
  view?.tick(now);
  if (workersView.element.isConnected) workersView.render(now);
}
document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  runsList.catchUp();
  view?.catchUp();
  tick();
});
setInterval(() => {
  if (!document.hidden) tick();
}, TICK_MS);

void route();
