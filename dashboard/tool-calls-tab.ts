// The Tool calls tab: the waterfall, loaded the first time the tab is shown and fed live after.
import { isTerminal } from '../shared/validate.ts';
import { LazyFeed } from './lazy-feed.ts';
import type { RunTabFactory } from './run-tab.ts';
import { Waterfall } from './waterfall.ts';

export const toolCallsTab: RunTabFactory = (context) => {
  const waterfall = new Waterfall((event) => context.inspect(event));
  const feed = new LazyFeed(
    context.runId,
    ['type=tool.called,tool.result'],
    (event) => event.type === 'tool.called' || event.type === 'tool.result',
    (events) => {
      waterfall.add(events);
      context.scheduleRedraw();
    },
  );
  const render = (now: number) =>
    waterfall.render(now, feed.ready && isTerminal(context.run().status));
  return {
    id: 'tools',
    element: waterfall.element,
    label: (run) => `Tool calls ${run.toolCallCount.toLocaleString('en-US')}`,
    show: () => void feed.start(context.receivedSeq() + 1),
    receive: (event) => feed.add(event),
    render,
    tick: (now) => {
      if (waterfall.hasRunning) render(now);
    },
  };
};
