/**
 * The `v1` delta-encoded stream, in the structure of each capture era (see `StreamProfile`): one
 * module per era, on the shared builder (`builder.ts`) and messages and events (`common.ts`).
 */
import { randomUUID } from 'node:crypto';
import type { EncodeContext } from '../frames.js';
import { DONE_FRAME, moderationFrame } from '../frames.js';
import type { Frame } from '../sse-channel.js';
import type { Turn } from '../turns.js';
import { profile2024 } from './2024-10.js';
import { profile2025 } from './2025-03.js';
import { profile2026 } from './2026-01.js';
import { profileTeam } from './2026-03-team.js';
import { profileImage } from './2026-04-image.js';
import type { Builder, StreamIds } from './builder.js';

/** The frames of a `v1` stream for a turn, in the structure of `context.profile`. */
export function v1Frames(turn: Turn, context: EncodeContext): Frame[] {
  const ids: StreamIds = {
    requestId: randomUUID(),
    turnExchangeId: randomUUID(),
    turnTraceId: randomUUID(),
  };
  const early = context.profile === '2024-10' || context.profile === '2025-03';
  const builder: Builder = {
    frames: [{ kind: 'event', event: 'delta_encoding', data: '"v1"' }],
    count: 0,
    turn,
    ids,
    envelope: (message) =>
      early
        ? { message, conversation_id: turn.conversation.id, error: null }
        : { message, conversation_id: turn.conversation.id, error: null, error_code: null },
  };
  switch (context.profile) {
    case '2024-10':
      profile2024(builder, context);
      break;
    case '2025-03':
      profile2025(builder, context);
      break;
    case '2026-03-team':
      profileTeam(builder, context);
      break;
    case '2026-04-image':
      profileImage(builder, context);
      break;
    default:
      profile2026(builder, context, context.profile === '2026-01-titles-in-stream');
  }
  if (context.moderation !== undefined && !context.moderation.blocked) {
    builder.frames.push(moderationFrame(turn, context.moderation));
  }
  builder.frames.push(DONE_FRAME);
  return builder.frames;
}
