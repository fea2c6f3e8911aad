import { RestError } from '../errors.js';
import { Utf8Text } from './utf8-text.js';

/** The fields of a request body, from JSON or a form. Form values are strings. */
export type BodyFields = Record<string, unknown>;

/**
 * A request that gives its whole body as text without a web stream (the Node bridge's view):
 * within `limit` bytes, else it throws `payload_too_large`.
 */
export interface DirectBody {
  readBodyText(limit: number): Promise<string>;
}

async function readText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  const direct = (request as Partial<DirectBody>).readBodyText;
  if (typeof direct === 'function') return direct.call(request, limit);
  if (request.body === null) return '';
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new Utf8Text();
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
    text += decoder.write(value);
  }
  return text + decoder.end();
}

/** Deepest JSON nesting a request body may have: the API's fields are flat. */
export const MAX_BODY_DEPTH = 64;

/** The 400 for a body nested deeper than {@link MAX_BODY_DEPTH}. */
export function tooDeep(): RestError {
  return new RestError(
    'invalid_request',
    `The request body is nested more than ${MAX_BODY_DEPTH} levels deep.`,
  );
}

/** True when `value` nests deeper than {@link MAX_BODY_DEPTH}; iterative, so any depth is safe. */
export function nestsTooDeep(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [item, depth] = top;
    if (typeof item !== 'object' || item === null) continue;
    if (depth >= MAX_BODY_DEPTH) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/** The 413 of a request body over `limit` bytes (the core's reader, Node bridge, pass-through). */
export function tooLarge(limit: number): RestError {
  return new RestError('payload_too_large', `The request body is larger than ${limit} bytes.`);
}

/**
 * Refuses a compressed body with a 415 (RFC 7694) before reading it: the core reads bytes as they
 * are, and a gzip body read as text was a misleading 400 "not valid JSON". A host's parser that
 * decoded the body (Express's, Koa's) removes the header, so those bodies never get here.
 */
function refuseEncoded(encoding: string | null): void {
  if (encoding === null) return;
  const coding = encoding.trim().toLowerCase();
  if (coding === '' || coding === 'identity') return;
  throw new RestError(
    'unsupported_media_type',
    'The request body is compressed (Content-Encoding); send it uncompressed.',
  );
}

/**
 * Reads a JSON or form-encoded body into fields, within `limit` bytes. An empty body is `{}`;
 * any other media type, or a compressed body, is a 415; malformed JSON or a JSON body that is
 * not an object is a 400.
 */
export async function readBodyFields(request: Request, limit: number): Promise<BodyFields> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  refuseEncoded(request.headers.get('content-encoding'));
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
    if (nestsTooDeep(parsed)) throw tooDeep();
    return parsed as BodyFields;
  }
  throw new RestError(
    'unsupported_media_type',
    'Send the body as application/json or application/x-www-form-urlencoded.',
  );
}

/**
 * zlib's and Brotli's codes for a compressed body that does not decode: bad or truncated bytes,
 * a dictionary we do not have. Koa's parser (co-body) lets them through without an HTTP status.
 */
const UNDECODABLE = /^(?:Z_DATA_ERROR|Z_BUF_ERROR|Z_NEED_DICT|ERR__ERROR_FORMAT_\w+)$/;

/** True for a decompression error of a request body (see {@link UNDECODABLE}). */
function undecodable(error: object): boolean {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && UNDECODABLE.test(code);
}

/**
 * The REST error for a failure of a framework's own body parser (Express's `express.json()`,
 * body-parser, co-body), which carry an HTTP `status`: 413, 415 or 400; a body whose
 * `Content-Encoding` does not decode is a 400 too, as the core answers such bytes itself.
 * Undefined otherwise.
 */
export function bodyParserError(error: unknown): RestError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  if (code === 413) return new RestError('payload_too_large', 'The request body is too large.');
  if (code === 415) {
    return new RestError(
      'unsupported_media_type',
      'Send the body as application/json or application/x-www-form-urlencoded.',
    );
  }
  if (code === 400 || undecodable(error)) {
    return new RestError('invalid_request', 'The request body could not be parsed.');
  }
  return undefined;
}
