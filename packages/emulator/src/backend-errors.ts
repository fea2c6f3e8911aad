/**
 * The error answers of the real backend (docs/spec/backend-protocol.md §7 and the captures in
 * `test/fixtures/upstream/`), as status + body + content type, so that the emulator's refusals
 * and injected faults read exactly like real ones.
 */

/** A complete HTTP error answer. */
export interface ErrorAnswer {
  status: number;
  /** The body; objects are written as JSON, strings as they are. */
  body: string | Record<string, unknown>;
  contentType: string;
  headers?: Record<string, string>;
}

const JSON_TYPE = 'application/json';

function json(status: number, body: Record<string, unknown>, headers?: Record<string, string>) {
  return { status, body, contentType: JSON_TYPE, ...(headers ? { headers } : {}) };
}

/** The Cloudflare interstitial, trimmed to what clients detect (`cf-please-wait`, `cf_chl_opt`, "Just a moment"). */
export const CLOUDFLARE_CHALLENGE_HTML = `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta name="robots" content="noindex,nofollow"></head><body class="no-js"><div class="main-wrapper" role="main"><div class="main-content"><h1 class="zone-name-title h1">chatgpt.com</h1><h2 class="h2" id="challenge-running">Checking if the site connection is secure</h2><div id="cf-please-wait"><div id="spinner"></div><p data-translate="please_wait">Please stand by, while we are checking your browser...</p></div></div></div><script>(function(){window._cf_chl_opt={cvId: '2',cZone: 'chatgpt.com',cType: 'managed'};}());</script></body></html>`;

/** Messages of the real bodies, shared by faults, refusals and tests. */
export const BACKEND_MESSAGES = {
  tokenExpired: 'Your authentication token has expired. Please try signing in again.',
  invalidJwt: 'Could not parse your authentication token. Please try signing in again.',
  modelCap: 'You have sent too many messages to the model. Please try again later.',
  rateLimit: 'Too many requests in 1 hour. Try again later.',
  oneAtATime:
    'Only one message at a time. Please allow any other responses to complete before sending another message, or wait one minute.',
  unusualActivity: 'Unusual activity has been detected from your device. Try again later.',
  serverError: 'Something went wrong, please try reloading the conversation.',
} as const;

/** 401 of an expired access token (capture `conversation-post-2022-12-error-401-token-expired.json`). */
export function tokenExpired(): ErrorAnswer {
  return json(401, {
    detail: {
      message: BACKEND_MESSAGES.tokenExpired,
      type: 'invalid_request_error',
      param: null,
      code: 'token_expired',
    },
  });
}

/** 401 of a token that does not parse as a JWT. */
export function invalidJwt(): ErrorAnswer {
  return json(401, {
    detail: {
      message: BACKEND_MESSAGES.invalidJwt,
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_jwt',
    },
  });
}

/** 401 `{"detail": "invalid_token"}` (2023 form). */
export function invalidToken(): ErrorAnswer {
  return json(401, { detail: 'invalid_token' });
}

/** 401 without an `Authorization` header. */
export function unauthorized(): ErrorAnswer {
  return json(401, { detail: 'Unauthorized' });
}

/** 403 Cloudflare challenge page (HTML), or 503 as Cloudflare sometimes answers. */
export function cloudflareChallenge(status: 403 | 503 = 403): ErrorAnswer {
  return {
    status,
    body: CLOUDFLARE_CHALLENGE_HTML,
    contentType: 'text/html; charset=UTF-8',
    headers: { 'cf-mitigated': 'challenge', server: 'cloudflare' },
  };
}

/** 403 "Unusual activity": what the web backend answers to a failed sentinel check. */
export function unusualActivity(): ErrorAnswer {
  return json(403, { detail: BACKEND_MESSAGES.unusualActivity });
}

/** 404 of an unknown or hidden conversation. */
export function conversationNotFound(): ErrorAnswer {
  return json(404, {
    detail: { message: 'Conversation not found', code: 'conversation_not_found' },
  });
}

/** 429 usage cap, with `clears_in` seconds. */
export function modelCap(clearsIn = 11461): ErrorAnswer {
  return json(429, {
    detail: { message: BACKEND_MESSAGES.modelCap, code: 'model_cap_exceeded', clears_in: clearsIn },
  });
}

/** 429 hourly rate limit of 2023 (capture `conversation-post-2023-02-error-429-too-many-requests.json`). */
export function rateLimit(): ErrorAnswer {
  return json(429, { detail: BACKEND_MESSAGES.rateLimit });
}

/** 429 (or 409) while another reply of the same account is streaming. */
export function oneAtATime(status: 429 | 409 = 429): ErrorAnswer {
  return json(status, { detail: BACKEND_MESSAGES.oneAtATime });
}

/** 500 as plain text, or as JSON `{"detail": "Something went wrong…"}`. */
export function serverError(format: 'text' | 'json' = 'text'): ErrorAnswer {
  return format === 'text'
    ? { status: 500, body: 'Internal Server Error', contentType: 'text/plain; charset=utf-8' }
    : json(500, { detail: BACKEND_MESSAGES.serverError });
}

/** 404 (or 400) for a model the account may not use. */
export function modelNotFound(model = 'gpt-4', status: 404 | 400 = 404): ErrorAnswer {
  return json(status, {
    detail: {
      message: `The model \`${model}\` does not exist or you do not have access to it.`,
      type: 'invalid_request_error',
      param: null,
      code: 'model_not_found',
    },
  });
}

/** FastAPI's answer for an unknown route. */
export function routeNotFound(): ErrorAnswer {
  return json(404, { detail: 'Not Found' });
}

/** FastAPI's answer for a known route with another method. */
export function methodNotAllowed(): ErrorAnswer {
  return json(405, { detail: 'Method Not Allowed' });
}

/** 422 of a body that is not the JSON the route expects (FastAPI validation). */
export function unprocessable(message: string): ErrorAnswer {
  return json(422, { detail: [{ loc: ['body'], msg: message, type: 'value_error' }] });
}
