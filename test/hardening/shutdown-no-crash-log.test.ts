import { messageBody } from '@chatgpt-rest/test-kit';
import http from 'node:http';
import t from 'tap';
import { start, until } from '../../packages/server/test/helpers.js';

/** Opens a stream and resolves with its whole text once the server ends it. */
function openStream(
  port: number,
  path: string,
  body: unknown,
  token: string,
): { text: Promise<string>; started: () => boolean } {
  let bytes = '';
  const text = new Promise<string>((resolve) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      agent: false,
    });
    req.on('error', () => resolve(bytes));
    req.end(JSON.stringify(body));
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (bytes += chunk));
      res.on('end', () => resolve(bytes));
      res.on('error', () => resolve(bytes));
    });
  });
  return { text, started: () => bytes.includes('data:') };
}

t.test(
  'a graceful shutdown that ends live REST and pass-through streams logs no error (no level 50 line, no "internal error")',
  async (t) => {
    const { port, sidecar, logLines, emulator } = await start(
      t,
      {},
      { pacingMs: 40, replyWords: 500 },
    );
    const streams = [
      openStream(port, '/conversations/new', { prompt: 'one', stream: true }, 'token-1'),
      openStream(port, '/backend-api/conversation', messageBody('two'), 'token-2'),
    ];
    await until(() => streams.every((stream) => stream.started()));
    t.equal(emulator.inFlight, 2, 'both upstream streams are live');
    await sidecar.close(50);
    const texts = await Promise.all(streams.map((stream) => stream.text));
    for (const text of texts)
      t.match(text, /server shutting down/, 'the stream got the shutdown event');
    // Give any late rejection a moment to be logged.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const errors = logLines.filter(
      (line) => /"level":50/.test(line) || line.includes('internal error'),
    );
    t.same(errors, [], 'no error line');
  },
);
