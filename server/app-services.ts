// What route modules work over; create-app.ts builds it once.
import type { ControlChannels } from './control-channels.ts';
import type { OtlpExporter } from './otlp-exporter.ts';
import type { Store } from './store.ts';
import type { StreamHub } from './stream-hub.ts';

export interface AppServices {
  store: Store;
  hub: StreamHub;
  control: ControlChannels;
  /** Present with `serve --otlp-endpoint`. */
  exporter?: OtlpExporter;
}
