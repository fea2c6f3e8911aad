import { RestError } from '../errors.js';

/** The fields of a request body, from JSON or a form. Form values are strings. */
export type BodyFields = Record<string, unknown>;

async function readText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  if (request.body === null) return '';
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

function tooLarge(limit: number): RestError {
  return new RestError('payload_too_large', `The request body is larger than ${limit} bytes.`);
}

/**
 * Reads a JSON or form-encoded body into fields, within `limit` bytes. An empty body is `{}`;
 * any other media type is a 415; malformed JSON or a JSON body that is not an object is a 400.
 */
export async function readBodyFields(request: Request, limit: number): Promise<BodyFields> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  const text = await readText(request, limit);
  if (text.trim() === '') return {};
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(text));
  }
  if (type === 'application/json' || type?.endsWith('+json') === true) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new RestError('invalid_request', 'The request body is not valid JSON.');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new RestError('invalid_request', 'The request body must be a JSON object.');
    }
    return parsed as BodyFields;
  }
  throw new RestError(
    'unsupported_media_type',
    'Send the body as application/json or application/x-www-form-urlencoded.',
  );
}
