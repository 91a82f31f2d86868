// The bench's baseline: the least a node:http ingest server can do. It reads the body, JSON.parses
// it and answers 201 with a small JSON body, storing nothing, so "ours / bare" isolates what our
// server adds (validation, seq, the write(2), fan-out). It prints the same "listening on" line as
// ours so the bench starts both the same way.
import { createServer } from 'node:http';

let seq = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let status = req.method === 'POST' ? 201 : 200;
    let body: string;
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text !== '') JSON.parse(text);
      body = JSON.stringify({ ok: true, seq: ++seq });
    } catch {
      status = 400;
      body = '{"error":"body is not JSON"}';
    }
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`bare server listening on http://127.0.0.1:${port}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
