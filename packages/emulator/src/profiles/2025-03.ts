/**
 * The 2025-03 `v1` stream: the assistant message only, its text appends with a `: ping` comment
 * in the middle, one finish patch carrying the last chunk, then completion and detail metadata.
 */
import type { EncodeContext } from '../frames.js';
import { chunksOf } from '../frames.js';
import { add, appends, blocked, delta, side, type Builder } from './builder.js';
import { assistantStart, complete, detailMetadata, finishPatch, pythonNow } from './common.js';

/** The 2025-03 stream. */
export function profile2025(builder: Builder, context: EncodeContext): void {
  const { turn, ids } = builder;
  const parentId = turn.assistant.metadata?.parent_id ?? '';
  add(builder, assistantStart(turn, ids, '2025-03', parentId), 0);
  if (blocked(builder, context)) return;
  const chunks = chunksOf(turn, context.chunking);
  const last = chunks.pop();
  const middle = Math.max(2, Math.floor(chunks.length / 2));
  let end = appends(builder, chunks.slice(0, middle), 0, true);
  builder.frames.push({ kind: 'comment', text: `ping - ${pythonNow()}` });
  end = appends(builder, chunks.slice(middle), end, false);
  delta(builder, { p: '', o: 'patch', v: finishPatch(turn, last) }, end + (last?.length ?? 0));
  side(builder, complete(turn));
  side(builder, detailMetadata(turn, '2025-03'));
}
