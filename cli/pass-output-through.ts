// The command's stdout and stderr passed through to ours as they come, and split into lines for
// the events; with backpressure: while too much waits to be sent, or our own stdout is full, the
// command's output is not read.
import type { Writable } from 'node:stream';
import type { EventSender } from './event-sender.ts';
import { LineSplitter, type LinePiece } from './line-splitter.ts';
import type { OutputStream } from './output-throttle.ts';

/** Past this many unsent events, the command's output is read no faster than the server takes it. */
export const MAX_PENDING_EVENTS = 10_000;

export interface PassOutputThroughOptions {
  /** The command's pipes. */
  sources: Record<OutputStream, NodeJS.ReadableStream>;
  /** Where each goes (our stdout, or stderr under --json; our stderr). */
  sinks: Record<OutputStream, Writable>;
  sender: EventSender;
  maxLineBytes(stream: OutputStream): number;
  onPiece(stream: OutputStream, piece: LinePiece): void;
}

/** Starts reading; resolves once both pipes have ended or closed. */
export function passOutputThrough(options: PassOutputThroughOptions): Promise<void> {
  const { sources, sinks, sender, onPiece } = options;
  const holds = new Map<NodeJS.ReadableStream, number>();
  const hold = (source: NodeJS.ReadableStream, until: Promise<unknown>): void => {
    holds.set(source, (holds.get(source) ?? 0) + 1);
    source.pause();
    void until
      .catch(() => {})
      .finally(() => {
        const left = holds.get(source)! - 1;
        holds.set(source, left);
        if (left === 0) source.resume();
      });
  };
  let draining = false;
  const closed = (Object.keys(sources) as OutputStream[]).map((stream) => {
    const source = sources[stream];
    const sink = sinks[stream];
    const splitter = new LineSplitter(options.maxLineBytes(stream));
    let sinkBroken = false;
    sink.on('error', () => (sinkBroken = true)); // e.g. `| head` closed our stdout: keep recording
    source.on('data', (chunk: Buffer) => {
      if (!sinkBroken && !sink.write(chunk)) {
        hold(source, new Promise((resolve) => sink.once('drain', resolve)));
      }
      for (const piece of splitter.push(chunk)) onPiece(stream, piece);
      if (!draining && !sender.error && sender.pending > MAX_PENDING_EVENTS) {
        draining = true;
        const flushed = sender.flush().finally(() => (draining = false));
        for (const other of Object.values(sources)) hold(other, flushed);
      }
    });
    return new Promise<void>((resolve) => {
      source.once('end', () => {
        for (const piece of splitter.end()) onPiece(stream, piece);
        resolve();
      });
      source.once('close', resolve);
    });
  });
  return Promise.all(closed).then(() => {});
}
