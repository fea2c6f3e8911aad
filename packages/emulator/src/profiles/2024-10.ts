/**
 * The 2024-10 `v1` stream: the assistant message only, its text appends, then the status patch
 * and the finish metadata as two separate deltas and an empty closing event.
 */
import type { EncodeContext } from '../frames.js';
import { chunksOf } from '../frames.js';
import { add, appends, blocked, delta, type Builder } from './builder.js';
import { assistantStart, finishDetails, finishPatch } from './common.js';

/** The 2024-10 stream. */
export function profile2024(builder: Builder, context: EncodeContext): void {
  const { turn, ids } = builder;
  const parentId = turn.assistant.metadata?.parent_id ?? '';
  add(builder, assistantStart(turn, ids, '2024-10', parentId), 0);
  if (blocked(builder, context)) return;
  const chunks = chunksOf(turn, context.chunking);
  appends(builder, chunks, 0, true);
  // 2024-10 sent the status patch and the finish metadata as two separate deltas.
  const [status, endTurn] = finishPatch(turn, undefined);
  delta(builder, { p: '', o: 'patch', v: [status, endTurn] }, turn.text.length);
  delta(builder, {
    p: '/message/metadata',
    o: 'append',
    v: {
      timestamp_: 'absolute',
      request_id: ids.requestId,
      finish_details: finishDetails(turn),
      is_complete: true,
    },
  });
  builder.frames.push({ kind: 'event', data: '' });
}
