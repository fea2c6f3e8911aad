/** Parsed JSON of unknown shape (what `JSON.parse` returns). */
export type Json = ReturnType<typeof JSON.parse>;

/** A finished HTTP exchange, its body read whole. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: Json;
}

/** What {@link jsonRequest} sends. */
export interface JsonRequestOptions {
  /** A value sent as JSON (with its content type), or a string sent as it is. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A `Request` with a JSON body (when given) and the given headers. */
export function jsonRequest(
  url: string,
  method: string,
  options: JsonRequestOptions = {},
): Request {
  const headers: Record<string, string> = { ...options.headers };
  const { body } = options;
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  return new Request(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

/** Reads a response whole: status, headers, text, and the JSON when it parses. */
export async function readReply(response: Response): Promise<Reply> {
  const text = await response.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}
