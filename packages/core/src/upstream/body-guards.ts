/**
 * Guards on upstream bodies: a whole body read within a size and a silence limit, a stream
 * that errors on a long silence or a broken connection, and the errors they raise.
 */
import { RestError, isRestError } from '../errors.js';
import { contentText, unreadContent } from '../http/whole-response.js';
import { Utf8Text } from '../http/utf8-text.js';

/**
 * Reads a whole body within `limit` bytes, never silent for more than `idleMs`: the built-in
 * transport has already enforced both, an injected `fetch` streams and is held to them here.
 */
export async function readCapped(
  response: Response,
  limit: number,
  idleMs: number,
): Promise<string> {
  const whole = unreadContent(response);
  if (whole !== undefined) {
    // The built-in transport read it within its own limits; ours may be lower.
    if (Buffer.byteLength(whole) > limit) throw tooLargeError(limit);
    return contentText(whole);
  }
  if (response.body === null) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new Utf8Text();
  let size = 0;
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(idleError(idleMs)), idleMs);
  });
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), idle]);
      if (done) return text + decoder.end();
      size += value.byteLength;
      if (size > limit) throw tooLargeError(limit);
      text += decoder.write(value);
      timer?.refresh();
    }
  } catch (error) {
    void reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export function tooLargeError(limit: number): RestError {
  return new RestError('upstream_error', `The upstream answer was larger than ${limit} bytes.`);
}

export function idleError(idleMs: number): RestError {
  return new RestError(
    'upstream_timeout',
    `The upstream answer was silent for more than ${idleMs} ms.`,
  );
}

export function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/** The error of an upstream stream silent for longer than `idleMs` while a read waited. */
export function streamIdleError(idleMs: number): RestError {
  return new RestError(
    'upstream_timeout',
    `The upstream stream was silent for more than ${idleMs} ms.`,
  );
}

/**
 * The error of an upstream stream that failed mid-body: a RestError or the failure of a client
 * that left as it is, anything else (a broken connection) an `upstream_error`.
 */
export function brokenStreamError(error: unknown, clientSignal: AbortSignal): unknown {
  if (isRestError(error) || clientSignal.aborted) return error;
  return new RestError(
    'upstream_error',
    'The upstream connection broke in the middle of the reply.',
    { cause: causeCode(error) ?? 'terminated' },
  );
}

/**
 * Wraps the body of an injected `fetch` (the built-in transport guards its own, see
 * `StreamGuard`) so that a silence longer than `idleMs` between chunks aborts the upstream
 * request and errors the stream with `upstream_timeout`, and a connection that breaks mid-body
 * errors it with `upstream_error`. There is no limit on total duration.
 */
export function guardBody(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  abort: (reason: RestError) => void,
  clientSignal: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const error = streamIdleError(idleMs);
            abort(error);
            reject(error);
          }, idleMs);
        });
        try {
          const { done, value } = await Promise.race([reader.read(), idle]);
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          void reader.cancel().catch(() => undefined);
          controller.error(brokenStreamError(error, clientSignal));
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
