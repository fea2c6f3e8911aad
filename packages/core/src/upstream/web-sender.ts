/**
 * The `web` dialect's send path (docs/spec/backend-protocol.md §2–§3): chat requirements, proof of work, an optional
 * Turnstile/Arkose answer, the prepare call for a conduit token, then the message POST with the
 * sentinel headers. Every sentinel refusal of chatgpt.com is the same 403 "Unusual activity", so
 * the path retries once from a fresh requirements token (which covers an expired or reused token
 * and a refused proof) and names the cause it can know when it gives up.
 */
import { createHash, createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  buildProofConfig,
  buildRequirementsToken,
  type ProofConfig,
} from '../backend/proof-of-work.js';
import type { BackendMessageRequest, ChatRequirements } from '../backend/types.js';
import { RestError, isRestError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import type { ResolvedOptions, WebChallenge } from '../options.js';
import { isHeaderToken } from './header-token.js';
import { ProofLimiter, solveProof, type ProofSolution } from './proof-of-work-solver.js';
import { legacySender, type MessageSender, type SendContext } from './upstream-client.js';

/** The browser the web headers and the proof's config array describe; both must agree. */
const WEB_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36';

/** Key of the device-id derivation; changing it gives every token a new device id. */
const DEVICE_ID_KEY = 'chatgpt-rest oai-device-id v1';

/** Sends of one message: the first, and one retry from a fresh requirements token. */
const MAX_ATTEMPTS = 2;

const CHALLENGE_NAMES: Record<WebChallenge['kind'], string> = {
  turnstile: 'Turnstile',
  arkose: 'Arkose',
};

/**
 * A stable `Oai-Device-Id` for an access token: a v4-shaped UUID from an HMAC of the token's
 * hash, so it survives restarts without the token (or a reversible form of it) being stored.
 */
export function deviceIdFor(token: string): string {
  const tokenHash = createHash('sha256').update(token).digest();
  const bytes = createHmac('sha256', DEVICE_ID_KEY).update(tokenHash).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The §2 headers of the web dialect, on every upstream request. */
function webHeaders(token: string, accountId: string | undefined): Record<string, string> {
  return {
    'oai-device-id': deviceIdFor(token),
    'oai-language': 'en-US',
    origin: 'https://chatgpt.com',
    referer: 'https://chatgpt.com/',
    'user-agent': WEB_USER_AGENT,
    ...(accountId === undefined ? {} : { 'chatgpt-account-id': accountId }),
  };
}

/** A JSON object's text (read by `context.text`: capped, idle-guarded), parsed. */
function jsonObject(text: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RestError('upstream_error', `The upstream's ${what} answer is not a JSON object.`);
  }
  return parsed as Record<string, unknown>;
}

/** A sentinel refusal: 403 without a Cloudflare page (that one is reported as it is). */
function isSentinelRefusal(error: unknown): error is RestError {
  return (
    isRestError(error) &&
    error.code === 'upstream_blocked' &&
    error.upstreamStatus === 403 &&
    !error.message.includes('Cloudflare')
  );
}

/** What one attempt prepared for its message POST. */
interface Attempt {
  headers: Record<string, string>;
  /** Challenges the sentinel required that no hook answered. */
  unanswered: WebChallenge['kind'][];
  /** False when the proof is the fallback answer (no nonce worked). */
  proofSolved: boolean;
  /** When the requirements token expires (local clock), if the upstream said. */
  expiresAt: number | undefined;
  /** The token's lifetime in seconds (`expire_after`), if the upstream said. */
  ttl: number | undefined;
  /** False when the prepare answer held no conduit token (the message goes without one). */
  conduit: boolean;
  /** True when a proof of work was required and solved. */
  proved: boolean;
}

/** What the send loop did, so that a refusal can say it. */
interface SendHistory {
  /** Message POSTs made. */
  sends: number;
  /** Attempts dropped before their POST because their requirements token had expired. */
  expiredSkips: number;
  /** True when the refused POST carried a token already past its `expire_after`. */
  sentExpired: boolean;
}

/** The options the web sender reads. */
export type WebSenderOptions = Pick<ResolvedOptions, 'web' | 'logger' | 'metrics'>;

/** What one handler's web sender works with. */
interface WebSendDeps {
  web: ResolvedOptions['web'];
  logger: Logger;
  /** One limiter per handler: its solves share the event loop, and so the cap. */
  limiter: ProofLimiter;
  metrics: MetricsRecorder;
}

/** The `web` dialect's {@link MessageSender}. */
export function webSender(options: WebSenderOptions): MessageSender {
  const { web, logger } = options;
  const limiter = new ProofLimiter(web.maxConcurrentProofs, web.maxQueuedProofs);
  const deps: WebSendDeps = { web, logger, limiter, metrics: options.metrics };
  return {
    headers: (token) => webHeaders(token, web.accountId),
    // chatgpt.com starts a conversation under this fixed parent; the client makes no root id.
    newConversationParent: () => 'client-created-root',
    send: (context, body) => sendMessage(deps, context, body),
  };
}

/** The message POST of §3, retried once from a fresh requirements token after a sentinel refusal. */
async function sendMessage(
  deps: WebSendDeps,
  context: SendContext,
  body: BackendMessageRequest,
): Promise<Response> {
  const logger = context.log ?? deps.logger;
  const history: SendHistory = { sends: 0, expiredSkips: 0, sentExpired: false };
  for (let attemptNo = 1; ; attemptNo++) {
    const attempt = await prepareAttempt(deps, context, body);
    const last = attemptNo >= MAX_ATTEMPTS;
    const expired = attempt.expiresAt !== undefined && Date.now() >= attempt.expiresAt;
    if (expired && !last) {
      // The token died while the proof was solved: a POST would only be refused.
      logger.warn({ attempt: attemptNo }, 'chat-requirements token expired before sending');
      history.expiredSkips++;
      continue;
    }
    history.sends++;
    history.sentExpired = expired;
    try {
      return await context.call({
        method: 'POST',
        path: '/f/conversation',
        body,
        headers: attempt.headers,
        accept: 'text/event-stream',
      });
    } catch (error) {
      if (!isSentinelRefusal(error)) throw error;
      // A missing challenge answer will not appear on a retry: name it now.
      if (last || attempt.unanswered.length > 0) {
        throw refusedError(attempt, error, history, deps.web.maxProofIterations);
      }
      logger.warn(
        { attempt: attemptNo },
        'message refused by the sentinel; retrying with a fresh requirements token',
      );
    }
  }
}

/** Steps 1–4 of §3: requirements, proof, challenges, prepare; the sentinel headers of one POST. */
async function prepareAttempt(
  deps: WebSendDeps,
  context: SendContext,
  body: BackendMessageRequest,
): Promise<Attempt> {
  const config = buildProofConfig({ userAgent: WEB_USER_AGENT });
  const { requirements, receivedAt } = await fetchRequirements(context, config);
  const headers: Record<string, string> = {
    'openai-sentinel-chat-requirements-token': requirements.token,
  };
  const proof = await proveWork(deps, requirements.proofofwork, config, context.signal);
  if (proof !== undefined) headers['openai-sentinel-proof-token'] = proof.answer;
  const unanswered = await answerChallenges(deps.web, requirements, headers);
  const conduitToken = await fetchConduitToken(context, body, context.log ?? deps.logger);
  if (conduitToken !== undefined) headers['x-conduit-token'] = conduitToken;

  const ttl = typeof requirements.expire_after === 'number' ? requirements.expire_after : undefined;
  return {
    headers,
    unanswered,
    proofSolved: proof?.solved ?? true,
    expiresAt: ttl === undefined ? undefined : receivedAt + ttl * 1000,
    ttl,
    conduit: conduitToken !== undefined,
    proved: proof?.solved === true,
  };
}

/** Step 1: the chat-requirements answer and when it arrived; a forced login or no token throws. */
async function fetchRequirements(
  context: SendContext,
  config: ProofConfig,
): Promise<{ requirements: ChatRequirements; receivedAt: number }> {
  const requirements = jsonObject(
    await context.text({
      method: 'POST',
      path: '/sentinel/chat-requirements',
      body: { p: buildRequirementsToken(config) },
    }),
    'chat-requirements',
  ) as ChatRequirements;
  const receivedAt = Date.now();
  if (requirements.force_login === true) {
    throw new RestError(
      'invalid_token',
      'The upstream asks this account to log in again; sign in to ChatGPT and use a new access token.',
    );
  }
  if (typeof requirements.token !== 'string' || requirements.token === '') {
    throw new RestError('upstream_error', 'The chat-requirements answer held no token.');
  }
  if (!isHeaderToken(requirements.token)) {
    throw new RestError(
      'upstream_error',
      'The chat-requirements token cannot be sent as a header.',
    );
  }
  return { requirements, receivedAt };
}

/** Step 2: the proof of work when one is required (solved in the handler's limiter), else undefined. */
async function proveWork(
  deps: WebSendDeps,
  pow: ChatRequirements['proofofwork'],
  config: ProofConfig,
  signal: AbortSignal,
): Promise<ProofSolution | undefined> {
  if (pow?.required !== true) return undefined;
  if (typeof pow.seed !== 'string' || typeof pow.difficulty !== 'string') {
    throw new RestError('upstream_error', 'The proof-of-work requirement had no seed.');
  }
  const startedAt = performance.now();
  try {
    const solution = await solveProof(pow.seed, pow.difficulty, {
      minDifficulty: deps.web.minDifficulty,
      maxIterations: deps.web.maxProofIterations,
      maxMs: deps.web.maxProofMs,
      limiter: deps.limiter,
      config,
      signal,
    });
    deps.metrics.proofOfWork(solution.solved ? 'solved' : 'fallback', startedAt);
    return solution;
  } catch (error) {
    // A client gone mid-solve is no failed proof.
    if (!signal.aborted) deps.metrics.proofOfWork('failed', startedAt);
    throw error;
  }
}

/** Step 3: the Turnstile and Arkose answers, added to `headers`; returns the required ones left unanswered. */
async function answerChallenges(
  web: ResolvedOptions['web'],
  requirements: ChatRequirements,
  headers: Record<string, string>,
): Promise<WebChallenge['kind'][]> {
  const unanswered: WebChallenge['kind'][] = [];
  const turnstile = await answerChallenge(web, 'turnstile', requirements.turnstile);
  if (turnstile !== undefined) headers['openai-sentinel-turnstile-token'] = turnstile;
  else if (requirements.turnstile?.required === true) unanswered.push('turnstile');
  const arkose = await answerChallenge(web, 'arkose', requirements.arkose);
  if (arkose !== undefined) headers['openai-sentinel-arkose-token'] = arkose;
  else if (requirements.arkose?.required === true) unanswered.push('arkose');
  return unanswered;
}

/** One challenge's answer from the `solveChallenge` hook, or undefined when not required or no hook. */
async function answerChallenge(
  web: ResolvedOptions['web'],
  kind: WebChallenge['kind'],
  requirement: ChatRequirements['turnstile'],
): Promise<string | undefined> {
  if (requirement?.required !== true || web.solveChallenge === undefined) return undefined;
  // Typed as a string, but a JavaScript hook may give anything.
  let answer: unknown;
  try {
    answer = await web.solveChallenge({ kind, dx: requirement.dx ?? null });
  } catch (error) {
    if (isRestError(error)) throw error;
    throw new RestError(
      'upstream_blocked',
      `The solveChallenge hook failed to answer the ${CHALLENGE_NAMES[kind]} challenge.`,
      { cause: error instanceof Error ? error.name : 'unknown' },
    );
  }
  if (answer === undefined || (typeof answer === 'string' && isHeaderToken(answer))) return answer;
  throw new RestError(
    'upstream_blocked',
    `The solveChallenge hook's ${CHALLENGE_NAMES[kind]} answer cannot be sent as a header.`,
  );
}

/** Step 4: the prepare call's conduit token, or undefined (logged) when its answer held none. */
async function fetchConduitToken(
  context: SendContext,
  body: BackendMessageRequest,
  logger: Logger,
): Promise<string | undefined> {
  const prepareBody: Partial<BackendMessageRequest> = { ...body };
  delete prepareBody.messages;
  const prepared = jsonObject(
    await context.text({ method: 'POST', path: '/f/conversation/prepare', body: prepareBody }),
    'prepare',
  );
  if (typeof prepared.conduit_token === 'string' && prepared.conduit_token !== '') {
    if (isHeaderToken(prepared.conduit_token)) return prepared.conduit_token;
    throw new RestError(
      'upstream_error',
      "The prepare answer's conduit token cannot be sent as a header.",
    );
  }
  logger.warn({ conduit: false }, 'the prepare answer held no conduit token; sending anyway');
  return undefined;
}

/** The refusal of the last POST, saying what was sent and what is known to be wrong with it. */
function refusedError(
  attempt: Attempt,
  cause: RestError,
  history: SendHistory,
  maxProofIterations: number,
): RestError {
  const refused = (why: string): RestError =>
    new RestError('upstream_blocked', `The upstream refused the message: ${why}`, {
      upstreamStatus: 403,
      cause,
    });
  if (attempt.unanswered.length > 0) {
    const names = attempt.unanswered.map((kind) => CHALLENGE_NAMES[kind]).join(' and ');
    const verb = attempt.unanswered.length > 1 ? 'were' : 'was';
    return refused(`${names} ${verb} required and no solveChallenge hook answered it.`);
  }
  if (!attempt.proofSolved) {
    return refused(`no proof-of-work answer was found within ${maxProofIterations} tries.`);
  }
  if (!attempt.conduit) {
    return refused(
      'the prepare call returned no conduit token, so the message was sent without one.',
    );
  }
  if (history.sentExpired) {
    return refused(
      `its chat-requirements token had already expired when it was sent (it lived ${attempt.ttl ?? 0} s).`,
    );
  }
  return new RestError('upstream_blocked', sendsSentence(history, attempt.proved), {
    upstreamStatus: 403,
    cause,
  });
}

/** What the send loop did, when nothing else explains a refusal. */
function sendsSentence(history: SendHistory, proved: boolean): string {
  const fresh = `a fresh requirements token${proved ? ' and proof of work' : ''}`;
  if (history.sends > 1) {
    const times = history.sends === 2 ? 'twice' : `${history.sends} times`;
    return `The upstream refused the message ${times}, each with ${fresh}; it distrusts this device or IP.`;
  }
  const skipped =
    history.expiredSkips > 0
      ? `; ${history.expiredSkips} earlier requirements token expired before it could be sent`
      : '';
  return `The upstream refused the message, sent once with ${fresh}${skipped}; it may distrust this device or IP.`;
}

/** The {@link MessageSender} of the resolved dialect. */
export function senderFor(options: ResolvedOptions): MessageSender {
  return options.dialect === 'web' ? webSender(options) : legacySender;
}
