// Connections that never finish a request: closed after the header timeout with a 408, so they
// cannot pile up; the server keeps answering everyone else meanwhile.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { api } from './helpers/http.ts';
import { serverFor } from './helpers/server.ts';
import { waitFor } from './helpers/wait.ts';

const STALLED = 20;
/** The server's cap on open connections (server/main.ts MAX_CONNECTIONS). */
const CAP = 900;

test('connections', { timeout: 60_000 }, async (t) => {
  const server = await serverFor(t);

  await t.test('a request whose headers never end is answered 408 and closed', async (t) => {
    const answers = Array.from({ length: STALLED }, () => {
      const socket = connect(server.port, '127.0.0.1');
      t.after(() => socket.destroy());
      socket.on('error', () => {});
      // Headers begun and never finished: no blank line.
      socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      return new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
    });
    assert.equal((await api(server.url, '/health')).status, 200, 'others are answered meanwhile');
    for (const text of await Promise.all(answers)) {
      assert.match(text, /^HTTP\/1.1 408 /);
      assert.match(text, /"error":"the request headers did not arrive within \d+ s"/);
    }
  });

  await t.test(
    'past the cap on open connections a new one is closed at once; the cap frees as they go',
    async (t) => {
      const open = async () => {
        const socket = connect(server.port, '127.0.0.1');
        t.after(() => socket.destroy());
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('connect', resolve));
        return socket;
      };
      const held = [];
      for (let i = 0; i < CAP; i++) held.push(await open());
      const extra = await open();
      extra.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      let text = '';
      extra.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      await new Promise((resolve) => extra.once('close', resolve));
      assert.equal(text, '', 'a connection past the cap gets no answer');
      for (const socket of held) socket.destroy();
      await waitFor(
        '/health answered once the held connections close',
        async () => (await api(server.url, '/health').catch(() => undefined))?.status === 200,
      );
    },
  );
});
