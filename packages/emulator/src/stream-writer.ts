/**
 * The `legacy` stream encoder (every event holds the whole message so far) and the choice of
 * encoder: which one a request gets follows its `supported_encodings`, as upstream.
 */
import type { BackendMessage } from '@chatgpt-rest/core/backend';
import type { Frame } from './sse-channel.js';
import type { Turn } from './turns.js';
import type { EncodeContext } from './frames.js';
import { chunksOf, dataFrame, DONE_FRAME, moderationFrame } from './frames.js';
import { v1Frames } from './profiles/index.js';

function legacyAssistant(turn: Turn, text: string, final: boolean): BackendMessage {
  const stored = turn.assistant;
  const metadata: Record<string, unknown> = {
    citations: [],
    content_references: [],
    gizmo_id: null,
    message_type: turn.action,
    model_slug: turn.model,
    default_model_slug: turn.requestedModel,
    parent_id: stored.metadata?.parent_id,
    model_switcher_deny: [],
  };
  if (final) {
    metadata.finish_details = stored.metadata?.finish_details;
    metadata.is_complete = true;
    metadata.timestamp_ = 'absolute';
  }
  return {
    id: stored.id,
    author: { role: 'assistant', name: null, metadata: {} },
    create_time: stored.create_time,
    update_time: null,
    content: { content_type: 'text', parts: [text] },
    status: final ? 'finished_successfully' : 'in_progress',
    end_turn: final ? stored.end_turn : null,
    weight: 1,
    metadata,
    recipient: 'all',
    channel: null,
  };
}

/**
 * Legacy stream: (with the `2024-10` profile, the system and user echo first) an empty
 * `in_progress` snapshot, one cumulative snapshot per chunk, the finished snapshot, `[DONE]`.
 */
export function legacyFrames(turn: Turn, context: EncodeContext): Frame[] {
  const envelope = (message: unknown) => ({
    message,
    conversation_id: turn.conversation.id,
    error: null,
  });
  const frames: Frame[] = [];
  if (context.profile === '2024-10') {
    // The 2024-10 capture echoes the hidden system and the user message with its own metadata.
    if (turn.system !== undefined) {
      frames.push(
        dataFrame(
          envelope({ ...turn.system, metadata: { is_visually_hidden_from_conversation: true } }),
        ),
      );
    }
    if (turn.user !== undefined && turn.userIsNew) {
      const metadata = {
        serialization_metadata: { custom_symbol_offsets: [] },
        request_id: turn.user.metadata?.request_id,
        message_source: null,
        timestamp_: 'absolute',
        message_type: null,
      };
      frames.push(dataFrame(envelope({ ...turn.user, metadata })));
    }
  }
  if (context.moderation?.blocked === true) {
    frames.push(moderationFrame(turn, context.moderation), DONE_FRAME);
    return frames;
  }
  frames.push(dataFrame(envelope(legacyAssistant(turn, '', false)), 0));
  let text = '';
  for (const chunk of chunksOf(turn, context.chunking)) {
    text += chunk;
    frames.push(dataFrame(envelope(legacyAssistant(turn, text, false)), text.length));
  }
  frames.push(dataFrame(envelope(legacyAssistant(turn, text, true)), text.length));
  if (context.moderation !== undefined) frames.push(moderationFrame(turn, context.moderation));
  frames.push(DONE_FRAME);
  return frames;
}

/** The frames of a turn in the encoding the request asked for. */
export function encodeTurn(turn: Turn, encoding: 'legacy' | 'v1', context: EncodeContext): Frame[] {
  return encoding === 'v1' ? v1Frames(turn, context) : legacyFrames(turn, context);
}
