// What route modules work over; create-app.ts builds it once.
import type { Approvals } from './approvals.ts';
import type { ControlChannels } from './control-channels.ts';
import type { Notifier } from './notifier.ts';
import type { SpanIndex } from './span-index.ts';
import type { OtlpExporter } from './otlp-exporter.ts';
import type { Store } from './store.ts';
import type { StreamHub } from './stream-hub.ts';
import type { WorkQueue } from './work-queue.ts';

export interface AppServices {
  store: Store;
  hub: StreamHub;
  control: ControlChannels;
  approvals: Approvals;
  notifier: Notifier | undefined;
  spans: SpanIndex;
  queue: WorkQueue;
  /** Present with `serve --otlp-endpoint`. */
  exporter?: OtlpExporter;
}
