/**
 * The 2026-04 image-generation `v1` stream (plus plan): a code message to the image tool, an
 * async status, then the tool's message carrying the card text, added with a second
 * `"p": "", "o": "add"`.
 */
import { randomUUID } from 'node:crypto';
import type { BackendMessage } from '@chatgpt-rest/core/backend';
import type { EncodeContext } from '../frames.js';
import { dataFrame } from '../frames.js';
import { add, blocked, delta, side, type Builder } from './builder.js';
import { complete, detailMetadata, marker, resume, steMetadata, title } from './common.js';

/** The 2026-04 image stream. */
export function profileImage(builder: Builder, context: EncodeContext): void {
  const { turn, ids } = builder;
  side(builder, resume(turn, context, 'topic'));
  const codeId = randomUUID();
  add(builder, codeMessage(builder, codeId));
  delta(builder, { p: '/message/status', o: 'replace', v: 'finished_successfully' });
  side(builder, {
    type: 'conversation_async_status',
    conversation_id: turn.conversation.id,
    async_status: 7,
  });
  if (blocked(builder, context)) return;
  side(builder, marker(turn, turn.assistant.id));
  // A second add in the capture repeats `"p": "", "o": "add"` (a status replace came between).
  builder.frames.push({
    ...dataFrame(
      { p: '', o: 'add', v: builder.envelope(toolMessage(builder, codeId)), c: builder.count },
      turn.text.length,
    ),
    event: 'delta',
  });
  builder.count += 1;
  if (turn.isNew) side(builder, title(turn, turn.title));
  side(builder, steMetadata(turn, ids, '2026-04-image', codeId));
  side(builder, complete(turn));
  side(builder, detailMetadata(turn, '2026-04-image'));
}

/** The assistant's code message to the image tool. */
function codeMessage(builder: Builder, codeId: string): BackendMessage {
  const { turn, ids } = builder;
  return {
    id: codeId,
    author: { role: 'assistant', name: null, metadata: {} },
    create_time: Date.now() / 1000,
    update_time: null,
    content: {
      content_type: 'code',
      language: 'python3',
      response_format_name: null,
      text: '{"skipped_mainline":true}',
    },
    status: 'in_progress',
    end_turn: false,
    weight: 1,
    metadata: { parent_id: turn.user?.id ?? '', turn_exchange_id: ids.turnExchangeId },
    recipient: 't2uay3k.sj1i4kz',
    channel: null,
  };
}

/** The image tool's message: the reply text as a "Processing image" card. */
function toolMessage(builder: Builder, codeId: string): BackendMessage {
  const { turn, ids } = builder;
  return {
    id: turn.assistant.id,
    author: { role: 'tool', name: 't2uay3k.sj1i4kz', metadata: {} },
    create_time: turn.assistant.create_time,
    update_time: null,
    content: { content_type: 'text', parts: [turn.text] },
    status: 'finished_successfully',
    end_turn: true,
    weight: 1,
    metadata: {
      ui_card: true,
      ui_card_title: 'Processing image',
      ui_card_description: turn.text,
      ui_card_shimmer: true,
      image_gen_async: false,
      trigger_async_ux: false,
      image_gen_task_id: `chatimagegen-emulator:${randomUUID()}`,
      image_gen_multi_stream: true,
      block_interruption: true,
      permissions: [
        {
          type: 'notification',
          status: 'requested',
          notification_channel_id: 'image_gen',
          notification_channel_name: 'ImageGen',
          notification_priority: 4,
        },
      ],
      parent_id: codeId,
      turn_exchange_id: ids.turnExchangeId,
    },
    recipient: 'all',
    channel: null,
  };
}
