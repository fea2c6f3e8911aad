import { contentText, unreadContent } from '../http/whole-response.js';
import { Utf8Text } from '../http/utf8-text.js';

/** Largest error body read from the upstream; Cloudflare pages are big and only sniffed. */
export const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * The first `limit` characters of a body (an error page, a 401 or 429 to learn from), the rest
 * cancelled unread: an error body is sniffed, never buffered whole. With `deadlineMs`, what came
 * within that time: a body that trickles (a streamed 5xx) is cancelled there.
 */
export async function readLimited(
  response: Response,
  limit = ERROR_BODY_LIMIT,
  deadlineMs?: number,
): Promise<string> {
  const whole = unreadContent(response);
  if (whole !== undefined) return contentText(whole).slice(0, limit);
  if (response.body === null) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new Utf8Text();
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  const late =
    deadlineMs === undefined
      ? undefined
      : new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), deadlineMs);
        });
  try {
    for (;;) {
      const next = await (late === undefined ? reader.read() : Promise.race([reader.read(), late]));
      if (next?.done === true) break;
      if (next !== undefined) text += decoder.write(next.value);
      if (next === undefined || text.length >= limit) {
        // Not awaited: cancelling one branch of a tee (a cloned response) settles only when the
        // other branch is cancelled too.
        reader.cancel().catch(() => undefined);
        break;
      }
    }
  } finally {
    clearTimeout(timer);
  }
  return text + decoder.end();
}
