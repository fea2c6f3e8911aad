import http, { type RequestListener } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { frameworkResponse, type ServeNodeOptions, type WebHandler } from '@chatgpt-rest/core';

/** What `listenOn` needs of a tap test: a teardown. */
interface Teardown {
  teardown(fn: () => void): void;
}

/**
 * Serves `listener` on a real server on 127.0.0.1, port 0, closed when the test ends; resolves
 * with its port. `onConnection` sees each accepted socket (to count writes, say).
 */
export async function listenOn(
  t: Teardown,
  listener: RequestListener,
  onConnection?: (socket: Socket) => void,
): Promise<number> {
  const server = http.createServer(listener);
  if (onConnection !== undefined) server.on('connection', onConnection);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/**
 * A listener that sends `frameworkResponse`'s answer as Fastify and Koa do: status and headers
 * on `res`, then the whole body, the piped stream, or nothing.
 */
export function frameworkListener(
  handler: WebHandler,
  options: ServeNodeOptions = {},
): RequestListener {
  return (req, res) => {
    void frameworkResponse(handler, req, res, options).then((answer) => {
      res.statusCode = answer.status;
      for (const [name, value] of answer.headers) res.appendHeader(name, value);
      if (answer.body instanceof Readable) answer.body.pipe(res);
      else res.end(answer.body);
    });
  };
}
