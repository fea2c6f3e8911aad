/**
 * A tiny request/response layer over the IPC channel of `child_process.fork`: the parent calls
 * `child.call(type, payload)`, the child answers with `serve(handlers)`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

interface CallMessage {
  id: number;
  type: string;
  payload: unknown;
}

interface ReplyMessage {
  id: number;
  result?: unknown;
  error?: string;
}

function isReply(value: unknown): value is ReplyMessage {
  return typeof value === 'object' && value !== null && 'id' in value;
}

function isCall(value: unknown): value is CallMessage {
  return typeof value === 'object' && value !== null && 'id' in value && 'type' in value;
}

/** A forked bench process. */
export interface Child {
  readonly pid: number;
  call<T>(type: string, payload?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/** The execArgv that lets a child load the TypeScript sources (tsx, source condition). */
const EXEC_ARGV = ['--conditions=@chatgpt-rest/source', '--import', 'tsx'];
/**
 * The server under test loads the built packages (`dist/`, what an installed user runs): tsx's
 * transform names every function at run time (`__name`), which costs CPU and gives each closure
 * its own property store. tsx still loads the bench's own TypeScript.
 */
const BUILT_ARGV = ['--import', 'tsx'];
const UNDER_TEST = 'server-child.ts';

/** Forks `bench/<file>` (relative to this directory's parent) and waits for its `ready` call. */
export async function spawnChild(file: string, args: string[] = []): Promise<Child> {
  const path = fileURLToPath(new URL(`../${file}`, import.meta.url));
  const child: ChildProcess = fork(path, args, {
    execArgv: [
      ...(file === UNDER_TEST ? BUILT_ARGV : EXEC_ARGV),
      '--max-old-space-size=2048',
      // The emulator collects its garbage when rewound, between cases, not during the next one.
      ...(file === 'emulator-child.ts' || process.env.BENCH_EXPOSE_GC === '1'
        ? ['--expose-gc']
        : []),
      ...(process.env.BENCH_CPU_PROF === file
        ? ['--cpu-prof', '--cpu-prof-dir=/tmp/bench-prof']
        : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 1;
  let exited = false;
  child.on('message', (message: unknown) => {
    if (!isReply(message)) return;
    const waiter = pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(message.error));
    else waiter.resolve(message.result);
  });
  const exit = new Promise<void>((resolve) => {
    child.on('exit', (code) => {
      exited = true;
      for (const waiter of pending.values()) {
        waiter.reject(new Error(`${file} exited with code ${String(code)}`));
      }
      pending.clear();
      resolve();
    });
  });
  const call = <T>(type: string, payload?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) {
        reject(new Error(`${file} is not running`));
        return;
      }
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, type, payload } satisfies CallMessage);
    });
  await call('ping');
  return {
    pid: child.pid ?? -1,
    call,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** The longest event-loop stall of a bench process over a window, in ms. */
export interface Stalls {
  p99Ms: number;
  maxMs: number;
  /** The longest garbage-collection pause, and all of them, over the same time. */
  gcMaxMs: number;
  gcTotalMs: number;
}

/**
 * Child side: answers the parent's calls with these handlers. Built in: `ping`, and `stalls`,
 * this process's event-loop delay since the last `stalls` call (a stalled emulator or load
 * generator delays requests that the server under test answered in time).
 */
export function serve(handlers: Record<string, (payload: never) => unknown>): void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // GC pauses beside the stalls: does a stall come from this process's heap or from elsewhere?
  const gc = { maxMs: 0, totalMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  handlers = {
    stalls: (): Stalls => {
      const figures = {
        p99Ms: delay.percentile(99) / 1e6,
        maxMs: delay.max / 1e6,
        gcMaxMs: gc.maxMs,
        gcTotalMs: gc.totalMs,
      };
      delay.reset();
      gc.maxMs = 0;
      gc.totalMs = 0;
      return figures;
    },
    ...handlers,
  };
  process.on('message', (message: unknown) => {
    if (!isCall(message)) return;
    const reply = (body: Omit<ReplyMessage, 'id'>): void => {
      process.send?.({ id: message.id, ...body });
    };
    if (message.type === 'ping') {
      reply({ result: 'pong' });
      return;
    }
    const handler = handlers[message.type];
    if (handler === undefined) {
      reply({ error: `unknown call ${message.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.payload as never))
      .then(
        (result) => reply({ result: result ?? null }),
        (error: unknown) =>
          reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
