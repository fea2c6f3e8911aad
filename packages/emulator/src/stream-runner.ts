/**
 * Delivers the frames of a message stream, applying stream faults the way a broken backend or
 * network would: stalls, resets, truncation, heartbeats, pings, malformed and overlong lines.
 * Reports how much of the reply text reached the client, so an aborted turn can be stored as
 * interrupted.
 */
import type { ServerResponse } from 'node:http';
import type { StreamFault } from './faults.js';
import type { Frame } from './sse-channel.js';
import { SseChannel } from './sse-channel.js';
import { dataFrame } from './frames.js';
import { pythonNow } from './profiles/common.js';

/** What happened to a stream. */
export interface StreamOutcome {
  /** Every frame was written and the response ended. */
  completed: boolean;
  /** The client left before the end. */
  clientGone: boolean;
  /** Length of the assistant text the client received. */
  deliveredText: number;
  framesWritten: number;
}

const RESET_GRACE_MS = 25;

/** A heartbeat timestamp as the 2023 backend sent it (`2023-02-21 07:00:21.653311`). */
function heartbeatStamp(): string {
  return pythonNow().replace('+00:00', '');
}

/** Inserts a frame every `every` frames (not after `[DONE]`). */
function every(frames: Frame[], step: number, make: () => Frame): Frame[] {
  const out: Frame[] = [];
  const n = Math.max(1, Math.floor(step));
  frames.forEach((frame, index) => {
    out.push(frame);
    const isDone = frame.kind === 'event' && frame.data === '[DONE]';
    if ((index + 1) % n === 0 && !isDone && index < frames.length - 1) out.push(make());
  });
  return out;
}

const TEXT_PATH = '/message/content/parts/0';

/**
 * The frames that cut the text sent so far (`text`, after a text frame) by `cut` characters and
 * restore it: a v1 truncate then append (paths given, so the cursor stays a text append), or a
 * legacy snapshot with the shorter text then the original snapshot. Undefined for other frames.
 */
function rewriteAfter(frame: Frame, cut: number, text: string): Frame[] | undefined {
  if (frame.kind !== 'event' || frame.textEnd === undefined || frame.textEnd <= cut) return;
  let data: unknown;
  try {
    data = JSON.parse(frame.data);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const record = data as Record<string, unknown>;
  const end = frame.textEnd;
  const isV1Append =
    typeof record.v === 'string' &&
    (record.p === undefined || record.p === TEXT_PATH) &&
    (record.o === undefined || record.o === 'append');
  if (isV1Append) {
    return [
      dataFrame({ p: TEXT_PATH, o: 'truncate', v: end - cut }, end - cut),
      dataFrame({ p: TEXT_PATH, o: 'append', v: text.slice(end - cut, end) }, end),
    ];
  }
  const message = record.message as { content?: { parts?: unknown[] } } | undefined;
  const snapshot = message?.content?.parts?.[0];
  if (typeof snapshot !== 'string') return undefined;
  const shorter = structuredClone(record) as { message: { content: { parts: unknown[] } } };
  shorter.message.content.parts[0] = snapshot.slice(0, end - cut);
  return [dataFrame(shorter, end - cut), frame];
}

/** Inserts a rewrite of streamed text after the first text frame at or past `after` frames. */
function withRewrite(frames: Frame[], after: number, cut: number, text: string): Frame[] {
  for (let index = Math.max(0, after - 1); index < frames.length; index++) {
    const inserted = rewriteAfter(frames[index] as Frame, Math.max(1, Math.floor(cut)), text);
    if (inserted !== undefined) {
      return [...frames.slice(0, index + 1), ...inserted, ...frames.slice(index + 1)];
    }
  }
  return frames;
}

/** Applies the frame-rewriting faults to a stream; `text` is the reply text the frames carry. */
export function rewriteFrames(
  input: Frame[],
  faults: StreamFault[],
  conversationId: string,
  text = '',
): Frame[] {
  let frames = [...input];
  for (const fault of faults) {
    switch (fault.type) {
      case 'heartbeat':
        frames = every(frames, fault.every ?? 2, () => ({
          kind: 'raw',
          text: `data: ${heartbeatStamp()}\n\n`,
        }));
        break;
      case 'ping':
        frames = every(frames, fault.every ?? 2, () =>
          fault.style === 'comment'
            ? { kind: 'comment', text: `ping - ${pythonNow()}` }
            : { kind: 'raw', text: `event: ping\ndata: ${pythonNow()}\n\n` },
        );
        break;
      case 'malformed_json': {
        const at = Math.min(fault.afterEvents ?? 2, frames.length);
        frames.splice(at, 0, {
          kind: 'raw',
          text: `data: {"message": {"id": "${conversationId}", "content": {"parts": ["unterminated\n\n`,
        });
        break;
      }
      case 'long_line': {
        const at = Math.min(fault.afterEvents ?? 1, frames.length - 1);
        const target = frames[at];
        if (target?.kind === 'event') {
          // Trailing spaces after the JSON are legal padding: the content stays the same.
          const size = fault.bytes ?? 2 * 1024 * 1024;
          frames[at] = {
            ...target,
            data: target.data + ' '.repeat(Math.max(0, size - target.data.length)),
          };
        }
        break;
      }
      case 'stream_error': {
        const at = Math.min(fault.afterEvents ?? 2, frames.length);
        frames = frames.slice(0, at);
        frames.push(
          dataFrame({
            message: null,
            conversation_id: conversationId,
            error: fault.message ?? 'Something went wrong while generating the response.',
          }),
        );
        break;
      }
      case 'rewrite_text':
        frames = withRewrite(frames, fault.afterEvents ?? 2, fault.cut ?? 3, text);
        break;
      case 'end_without_done':
        frames = frames.filter((f) => !(f.kind === 'event' && f.data === '[DONE]'));
        if (fault.afterEvents !== undefined) frames = frames.slice(0, fault.afterEvents);
        break;
      default:
        break;
    }
  }
  return frames;
}

/** Writes a stream to a response whose headers are not sent yet. */
export async function runStream(
  res: ServerResponse,
  frames: Frame[],
  faults: StreamFault[],
  pacingMs: number,
  padding: boolean,
  onReset: () => void,
): Promise<StreamOutcome> {
  const endings = faults.find((f) => f.type === 'line_endings');
  const channel = new SseChannel(res, {
    lineEnding: endings === undefined ? '\n' : endings.style === 'crlf' ? '\r\n' : '\r',
    splitBytes: faults.some((f) => f.type === 'split_bytes'),
    pacingMs,
    padding,
  });
  const stall = faults.find((f) => f.type === 'stall_mid_stream');
  const reset = faults.find((f) => f.type === 'reset');
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  res.flushHeaders();
  let delivered = 0;
  let resetDone = false;
  const outcome = (completed: boolean): StreamOutcome => ({
    completed,
    clientGone: !completed && channel.gone && !resetDone,
    deliveredText: delivered,
    framesWritten: channel.written,
  });
  for (const frame of frames) {
    if (stall !== undefined && channel.written === stall.afterEvents) {
      if (stall.ms === undefined) await channel.untilGone();
      else await channel.pause(stall.ms);
    }
    if (reset !== undefined && channel.written === reset.afterEvents) {
      // Let the events already written reach the client first: an RST discards unread data.
      await channel.pause(RESET_GRACE_MS);
      resetDone = true;
      onReset();
      const socket = res.socket;
      if (socket !== null) {
        if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
        else socket.destroy();
      }
      return outcome(false);
    }
    if (!(await channel.write(frame))) return outcome(false);
    if (frame.kind === 'event' && frame.textEnd !== undefined) delivered = frame.textEnd;
  }
  if (channel.gone) return outcome(false);
  await new Promise<void>((resolve) => res.end(resolve));
  return outcome(true);
}
