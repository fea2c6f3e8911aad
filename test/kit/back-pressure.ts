import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** A web handler's answer whose body counts how often it was pulled. */
export interface CountedBody {
  /** A fresh `Response` over the counted body (64 KiB chunks, 100 MiB in all). */
  response: () => Promise<Response>;
  pulls: () => number;
}

/** A `Response` body of 1,600 chunks of 64 KiB (far beyond what socket buffers hold), counted. */
export function countedBody(): CountedBody {
  let pulls = 0;
  const response = (): Promise<Response> => {
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulls++;
          if (pulls > 1600) controller.close();
          else controller.enqueue(new Uint8Array(64 * 1024));
        },
      },
      { highWaterMark: 0 },
    );
    return Promise.resolve(new Response(body));
  };
  return { response, pulls: () => pulls };
}

/** What {@link pullsWhileClientPauses} measured. */
export interface Stall {
  /** The pull count once the writer stalled (two quiet 100 ms windows). */
  pulls: number;
  /** Whether the count stayed the same over those windows. */
  stalled: boolean;
}

/**
 * Sends `GET /` on a socket that never reads, then waits until something was written and the
 * writer stalls. A server that respects back-pressure stops pulling its body, bounded by the
 * buffers; one that does not pulls the whole body.
 */
export async function pullsWhileClientPauses(
  port: number,
  pulls: () => number,
  teardown: (fn: () => void) => void,
): Promise<Stall> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  socket.pause();
  teardown(() => socket.destroy());
  for (let i = 0; i < 100 && pulls() < 2; i++) await delay(10);
  let last = -1;
  let quiet = 0;
  for (let i = 0; i < 50 && quiet < 2; i++) {
    quiet = pulls() === last ? quiet + 1 : 0;
    last = pulls();
    await delay(100);
  }
  return { pulls: pulls(), stalled: pulls() === last };
}
