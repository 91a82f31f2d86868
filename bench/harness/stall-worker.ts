// Stalled SSE subscribers for the bench's delivery scenario, forked so that they live in a process
// of their own: each opens GET /api/runs/:id/stream on a raw socket, reads the answer's head and
// then never reads again, so the server's writes pile up behind a full socket until it cuts the
// subscriber off. A paused socket sees nothing of that; the bench counts them on /health.
//
// Protocol: {type:'online'} → job → {type:'ready'} once every stream answered 200 →
// {cmd:'finish'} → {type:'report'} once every socket is closed.
import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { runApiPath } from '../../shared/run-url.ts';

export interface StallJob {
  url: string;
  runId: string;
  subscribers: number;
}

export interface StallReport {
  opened: number;
}

/** Resolves with the socket once the stream answered 200, and leaves it paused for good. */
function openStalled(target: URL, runId: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      if (head.startsWith('HTTP/1.1 200')) resolve(socket);
      else reject(new Error(`stream answered ${head.split('\r\n')[0]}`));
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(
      `GET ${runApiPath(runId, '/stream')} HTTP/1.1\r\nhost: ${target.host}\r\n` +
        `accept: text/event-stream\r\n\r\n`,
    );
  });
}

async function main(job: StallJob): Promise<void> {
  const target = new URL(job.url);
  const sockets = await Promise.all(
    Array.from({ length: job.subscribers }, () => openStalled(target, job.runId)),
  );
  // Once cut off, a socket may still report the reset; it changes nothing here.
  for (const socket of sockets) socket.on('error', () => {});
  process.send!({ type: 'ready' });
  await new Promise((resolve) => process.once('message', resolve));
  for (const socket of sockets) socket.destroy();
  const report: StallReport = { opened: sockets.length };
  process.send!({ type: 'report', report }, () => process.exit(0));
}

if (process.send && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  process.once('message', (job: StallJob) => {
    main(job).catch((error: unknown) => {
      process.send!({ type: 'error', error: String(error) }, () => process.exit(1));
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'online' });
}
