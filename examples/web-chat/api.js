/**
 * The chatgpt-rest API as the page calls it: JSON calls, and streamed turns read with fetch and a
 * stream reader (EventSource only does GET; a turn is a POST). Failures become an ApiError whose
 * message is a sentence for the person using the page.
 */

/** A failed call: `code` is the API's error code (or `network`), `message` a sentence. */
export class ApiError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/** @type {Record<string, string>} */
const SENTENCES = {
  missing_token: 'Enter your access token (or API key) under Settings.',
  invalid_token: 'Your access token or API key was not accepted. Check it under Settings.',
  token_expired: 'Your access token has expired. Get a fresh one and enter it under Settings.',
  conversation_not_found: 'This conversation no longer exists. It may have been deleted elsewhere.',
  conversation_busy:
    'ChatGPT is still answering in this conversation. Wait a moment, then try again.',
  payload_too_large: 'That message is too long to send.',
  upstream_blocked: 'ChatGPT refused this server for now (a bot check). Try again later.',
  upstream_error: 'ChatGPT could not finish the answer. Try again.',
  upstream_unavailable: 'The server cannot reach ChatGPT right now. Try again in a moment.',
  upstream_timeout: 'ChatGPT took too long to answer. Try again.',
  internal_error: 'Something went wrong on the server. Try again.',
};

/**
 * The sentence for an error body of the API.
 * @param {unknown} body
 * @returns {ApiError}
 */
export function apiError(body) {
  const {
    code = 'unknown',
    error = '',
    retry_after: retry,
  } = /** @type {{code?: string, error?: string, retry_after?: number}} */ (
    typeof body === 'object' && body !== null ? body : {}
  );
  if (code === 'rate_limited') {
    const wait = typeof retry === 'number' ? ` in about ${Math.ceil(retry / 60)} min` : ' later';
    return new ApiError(code, `You have reached ChatGPT's usage limit. Try again${wait}.`);
  }
  if (code === 'invalid_request') return new ApiError(code, `That was not accepted: ${error}`);
  return new ApiError(code, SENTENCES[code] ?? `Something went wrong (${code}).`);
}

/**
 * A client of the API at `base` with the credential `token()` returns.
 * @param {string} base
 * @param {() => string} token
 */
export function createApi(base, token) {
  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @returns {Promise<Response>}
   */
  async function call(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (token() !== '') headers.authorization = `Bearer ${token()}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError('network', 'Cannot reach the chat server. Is it running?');
    }
    if (!response.ok) throw apiError(await response.json().catch(() => ({})));
    return response;
  }

  return {
    /** @param {string} path */
    get: async (path) => (await call('GET', path)).json(),
    /** @param {string} path @param {unknown} body */
    patch: async (path, body) => (await call('PATCH', path, body)).json(),
    /** @param {string} path */
    remove: async (path) => {
      await call('DELETE', path);
    },
    /**
     * Runs a streamed turn; `onEvent(name, data)` gets each event as it arrives.
     * @param {string} path
     * @param {Record<string, unknown>} body
     * @param {(name: string, data: any) => void} onEvent
     */
    stream: async (path, body, onEvent) => {
      const response = await call('POST', path, { ...body, stream: true });
      if (response.body === null) throw new ApiError('network', 'The answer was empty.');
      await readEvents(response.body, onEvent);
    },
  };
}

/**
 * Reads `text/event-stream` blocks: `event:` and `data:` lines, a blank line ends an event.
 * @param {ReadableStream<Uint8Array>} body
 * @param {(name: string, data: any) => void} onEvent
 */
async function readEvents(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
      const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]).join('\n');
      if (data !== '') onEvent(name, JSON.parse(data));
    }
  }
}
