/**
 * Pieces shared by the stream encoders: frame builders, the encoding context and stream profiles.
 */
import { randomUUID } from 'node:crypto';
import type { Frame } from './sse-channel.js';
import { pythonJson } from './python-json.js';
import type { Turn } from './turns.js';
import { chunkText } from './reply-generator.js';

/**
 * Which capture era the `v1` stream imitates in structure: `2026-01` (default; files a/b),
 * `2026-01-titles-in-stream` (file 20), `2025-03`, `2024-10`, `2026-03-team`, `2026-04-image`.
 * For legacy streams only `2024-10` changes anything (system and user echo first).
 */
export type StreamProfile =
  '2026-01' | '2026-01-titles-in-stream' | '2025-03' | '2024-10' | '2026-03-team' | '2026-04-image';

/** Every stream profile, for validation and the CLI. */
export const STREAM_PROFILES: readonly StreamProfile[] = [
  '2026-01',
  '2026-01-titles-in-stream',
  '2025-03',
  '2024-10',
  '2026-03-team',
  '2026-04-image',
];

/** How the reply text is cut into events. */
export interface Chunking {
  by: 'token' | 'char';
  size: number;
}

/** Everything an encoder needs besides the turn. */
export interface EncodeContext {
  chunking: Chunking;
  profile: StreamProfile;
  /** The conduit/resume token announced by `resume_conversation_token`. */
  resumeToken: string;
  /** A moderation verdict to announce (fault `moderation`). */
  moderation: { flagged: boolean; blocked: boolean } | undefined;
}

/** A frame carrying `data:` (and maybe `event:`). */
export type EventFrame = Extract<Frame, { kind: 'event' }>;

/** `data: {...}` without an `event:` line. */
export function dataFrame(value: unknown, textEnd?: number): EventFrame {
  return { kind: 'event', data: pythonJson(value), ...(textEnd !== undefined ? { textEnd } : {}) };
}

/** The closing `data: [DONE]`. */
export const DONE_FRAME: EventFrame = { kind: 'event', data: '[DONE]' };

/** The moderation event (`type: "moderation"`), shaped like the 2023-12 capture. */
export function moderationFrame(
  turn: Turn,
  verdict: { flagged: boolean; blocked: boolean },
): Frame {
  return dataFrame({
    type: 'moderation',
    conversation_id: turn.conversation.id,
    message_id: turn.assistant.id,
    is_completion: true,
    moderation_response: {
      flagged: verdict.flagged,
      blocked: verdict.blocked,
      moderation_id: `modr-${randomUUID().replace(/-/g, '').slice(0, 29)}`,
    },
  });
}

/** The chunks of this turn's text. */
export function chunksOf(turn: Turn, chunking: Chunking): string[] {
  return chunkText(turn.text, chunking.by, chunking.size);
}
