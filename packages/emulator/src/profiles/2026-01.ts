/**
 * The 2026-01 `v1` stream (free plan): resume token, hidden system message, user echo and
 * `input_message`, the assistant's text appends with `title_generation` between them on a first
 * turn, one finish patch, `server_ste_metadata` and completion. `2026-01-titles-in-stream` is the
 * variant announcing the title twice inside the text and ending with an append.
 */
import type { EncodeContext } from '../frames.js';
import { chunksOf } from '../frames.js';
import { add, appends, blocked, delta, side, type Builder } from './builder.js';
import {
  assistantStart,
  complete,
  finishPatch,
  inputMessage,
  marker,
  resume,
  steMetadata,
  title,
  userEcho,
} from './common.js';

/** The 2026-01 stream (`titlesInStream`: the `2026-01-titles-in-stream` variant). */
export function profile2026(
  builder: Builder,
  context: EncodeContext,
  titlesInStream: boolean,
): void {
  const { turn, ids } = builder;
  side(builder, resume(turn, context, 'conduit'));
  if (turn.system !== undefined) add(builder, turn.system);
  const echo = turn.userIsNew ? userEcho(turn, ids, false) : undefined;
  if (echo !== undefined) {
    add(builder, echo);
    const input = inputMessage(turn, ids, false, turn.conversation.mapping[echo.id]?.parent ?? '');
    if (input !== undefined) side(builder, input);
  }
  const parentId = turn.assistant.metadata?.parent_id ?? '';
  add(builder, assistantStart(turn, ids, '2026-01', parentId), 0);
  if (blocked(builder, context)) return;
  side(builder, marker(turn, turn.assistant.id));
  const chunks = chunksOf(turn, context.chunking);
  const last = titlesInStream ? undefined : chunks.pop();
  const firstTitle = Math.max(1, Math.floor(chunks.length / 3));
  const secondTitle = Math.max(firstTitle + 1, Math.floor((chunks.length * 2) / 3));
  let end = 0;
  let first = true;
  const emitTitle = (from: number, to: number) => {
    end = appends(builder, chunks.slice(from, to), end, first);
    if (to > from) first = false;
  };
  if (turn.isNew) {
    emitTitle(0, firstTitle);
    side(builder, title(turn, turn.title));
    if (titlesInStream) {
      emitTitle(firstTitle, secondTitle);
      side(builder, title(turn, turn.title));
      emitTitle(secondTitle, chunks.length);
    } else {
      emitTitle(firstTitle, chunks.length);
    }
  } else {
    emitTitle(0, chunks.length);
  }
  delta(builder, { p: '', o: 'patch', v: finishPatch(turn, last) }, turn.text.length);
  side(builder, steMetadata(turn, ids, '2026-01', turn.assistant.id));
  side(builder, complete(turn));
  if (turn.isNew && !titlesInStream) side(builder, title(turn, turn.title));
}
