/**
 * Issue 10: a client that leaves before the answer's headers (the upstream is still thinking)
 * aborts the upstream request, for JSON and streaming calls, on every mount; and header values
 * with CR, LF or NUL never reach a handler (Node's parser refuses them) nor take the host down.
 */
import net from 'node:net';
import t from 'tap';
import { MOUNTS, guardProcess, startOnEmulator } from './harness.js';

for (const mount of MOUNTS) {
  t.test(`${mount.name}: a client leaving before headers aborts the upstream`, async (t) => {
    const guard = guardProcess(t);
    const { app, emulator } = await startOnEmulator(t, mount);
    for (const stream of [false, true]) {
      const token = `leaving-token-${stream}`;
      emulator.inject({ match: { token }, fault: { type: 'stall_before_headers', ms: 5000 } });
      const controller = new AbortController();
      const mark = emulator.requests.length;
      const pending = fetch(`${app.url}/conversations/new`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'bye', stream }),
        signal: controller.signal,
      }).catch(() => undefined);
      while (emulator.requests.length === mark) await new Promise((r) => setTimeout(r, 10));
      controller.abort();
      await pending;
      const closure = await Promise.race([
        emulator.requests[mark]!.closed,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000)),
      ]);
      t.equal(closure?.aborted, true, `stream=${stream}: the upstream request was aborted`);
    }
    t.same(guard.escaped, []);
  });

  t.test(`${mount.name}: CR, LF and NUL in header values are refused`, async (t) => {
    const guard = guardProcess(t);
    const { app, emulator } = await startOnEmulator(t, mount, { bodyParser: false });
    const { port } = new URL(app.url);
    for (const evil of ['a\rb', 'a\0b', 'x\r\nx-injected: 1']) {
      const answer = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1');
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(text));
        socket.end(
          `GET /conversations HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${evil}\r\nconnection: close\r\n\r\n`,
        );
      });
      t.notMatch(answer, /^HTTP\/1\.1 (2|500)/, `${JSON.stringify(evil)}: not served, no 500`);
    }
    t.equal(
      emulator.requests.filter((r) => JSON.stringify(r.headers).includes('injected')).length,
      0,
      'nothing injected upstream',
    );
    t.same(guard.escaped, []);
  });
}
