/**
 * A turn started for a route: the upstream has accepted the message (a failure before that is a
 * plain HTTP error), its events are ready to read, and the client's leaving aborts it. Shared by
 * the REST turn routes and the OpenAI-compatible ones.
 */
import type { Reply } from '../conversation/reply.js';
import { runTurn, type TurnEvent, type TurnRequest } from '../conversation/turn.js';
import { RestError } from '../errors.js';
import type { RouteContext } from './context.js';

/** A turn whose upstream request is under way. */
export interface RunningTurn {
  /** The events after `start`: deltas, rewrites, titles, the reply. */
  events: AsyncGenerator<TurnEvent>;
  /** Aborts the upstream request (a stream's reader went away) and lets go of the client. */
  cancel: (reason?: unknown) => void;
  /** Lets go of the client's signal once the events are all read. */
  finish: () => void;
}

/** Starts `turn`; resolves once the upstream accepted it, else rejects with its error. */
export async function startTurn(context: RouteContext, turn: TurnRequest): Promise<RunningTurn> {
  const { signal } = context;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  // A client gone before the turn starts (while the body or the tree was read) stops it too.
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', onAbort, { once: true });
  const finish = (): void => signal.removeEventListener('abort', onAbort);
  const cancel = (reason?: unknown): void => {
    controller.abort(reason);
    finish();
  };
  const caller = { ...context.credentials, signal: controller.signal };
  const events = runTurn(context.services, caller, turn);
  try {
    const first = await events.next();
    if (first.done === true) throw new RestError('upstream_error', 'The upstream sent nothing.');
  } catch (error) {
    cancel();
    throw error;
  }
  return { events, cancel, finish };
}

/** Reads a started turn to its end; resolves with the reply. */
export async function collectReply(running: RunningTurn): Promise<Reply> {
  let reply: Reply | undefined;
  try {
    for await (const event of running.events) if (event.type === 'reply') reply = event.reply;
  } catch (error) {
    running.cancel();
    throw error;
  }
  running.finish();
  if (reply === undefined) throw new RestError('upstream_error', 'No reply was received.');
  return reply;
}
