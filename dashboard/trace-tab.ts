// The Trace tab: the run's spans (trace-view.ts), loaded the first time the tab is shown and fed
// the run's live events after.
import type { RunTabFactory } from './run-tab.ts';
import { TraceView } from './trace-view.ts';

export const traceTab: RunTabFactory = (context) => {
  const view = new TraceView(context.run, (event) => context.inspect(event));
  return {
    id: 'trace',
    element: view.element,
    label: () => 'Trace',
    show: () => void view.start(),
    receive: (event) => {
      view.receive(event);
      context.scheduleRedraw();
    },
    render: (now) => view.render(now),
    tick: (now) => view.tick(now),
  };
};
