/**
 * A real `redis-server` for tests: started on 127.0.0.1 on a free port, without persistence
 * (`--save '' --appendonly no`), stopped at teardown. Where the binary is missing the tests that
 * need it skip with {@link REDIS_MISSING}; `.ci/run` installs it, so CI always runs them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** The one line a test prints when it skips for want of Redis. */
export const REDIS_MISSING = 'redis-server not found: apt-get install redis-server';

/** The path of `redis-server` on `PATH`, or undefined. */
export function findRedisServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, 'redis-server');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** A running redis-server. */
export interface RedisServer {
  /** `redis://[:password@]127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stops it (SIGKILL when `crash`, as a dying host would); resolves once it exited. */
  stop(crash?: boolean): Promise<void>;
  /** Starts it again on the same port (empty: nothing was persisted). */
  restart(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once the server answers a PING (with or without auth), or rejects after 5 s. */
async function answers(port: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.setTimeout(500, () => socket.destroy());
      socket.once('error', () => resolve(false));
      socket.once('close', () => resolve(false));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(/^[+-](?:PONG|NOAUTH)/.test(data.toString('latin1')));
      });
      socket.write('PING\r\n');
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a redis-server (`password`: with `--requirepass`); undefined when the binary is missing. */
export async function startRedisServer(
  options: { password?: string } = {},
): Promise<RedisServer | undefined> {
  const binary = findRedisServer();
  if (binary === undefined) return undefined;
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  if (options.password !== undefined) args.push('--requirepass', options.password);
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(binary, [...args, '--loglevel', 'warning'], { stdio: 'ignore' });
    await answers(port);
  };
  await start();
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    async stop(crash = false) {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = once(running, 'exit');
      running.kill(crash ? 'SIGKILL' : 'SIGTERM');
      await exited;
    },
    restart: start,
  };
}
