/**
 * The `web` dialect's anti-abuse state: chat-requirements tokens (random, single use, expiring,
 * bound to the access token that asked) with their proof-of-work seed, and conduit tokens from
 * `/f/conversation/prepare` bound to access token, conversation and parent message.
 */
import { randomBytes } from 'node:crypto';
import type { ChatRequirements } from '@chatgpt-rest/core/backend';
import { verifyProofAnswer } from '@chatgpt-rest/core/backend';

/** The sentinel options of the emulator. */
export interface SentinelOptions {
  /** Seconds a requirements token lives (`expire_after`). Default 540. */
  tokenTtlSeconds: number;
  proofOfWork: { required: boolean; difficulty: string };
  /** `enforce`: refuse a message POST without `OpenAI-Sentinel-Turnstile-Token`. */
  turnstile: { required: boolean; enforce: boolean };
  arkose: { required: boolean };
  forceLogin: boolean;
  persona: string;
}

interface IssuedToken {
  owner: string;
  seed: string;
  difficulty: string;
  powRequired: boolean;
  expiresAt: number;
  used: boolean;
}

interface Conduit {
  owner: string;
  conversationId: string | null;
  parentMessageId: string | null;
}

/** Why a message POST was refused (kept on the recorded request; the body is always the real one). */
export type Refusal =
  | 'requirements_token_missing'
  | 'requirements_token_unknown'
  | 'requirements_token_reused'
  | 'requirements_token_expired'
  | 'proof_missing'
  | 'proof_invalid'
  | 'turnstile_missing'
  | 'conduit_missing'
  | 'conduit_mismatch'
  | 'legacy_send_refused';

function opaque(prefix: string, bytes: number): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

/** A JWT-looking token (header.payload.signature), like the real conduit and resume tokens. */
export function fakeJwt(payload: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part(payload)}.${randomBytes(32).toString('base64url')}`;
}

/**
 * Tokens held at most, of each kind: the oldest go first. A client uses its tokens within seconds;
 * a long-running emulator (a load test issues a thousand a second) must not keep them all.
 */
export const SENTINEL_TOKENS_HELD = 10_000;

/** Sets `key`, forgetting the oldest entry when the map is full (a Map iterates oldest first). */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size <= SENTINEL_TOKENS_HELD) return;
  const oldest = map.keys().next();
  if (oldest.done !== true) map.delete(oldest.value);
}

/** Issues and checks requirements and conduit tokens. */
export class Sentinel {
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #conduits = new Map<string, Conduit>();
  options: SentinelOptions;

  constructor(options: SentinelOptions) {
    this.options = options;
  }

  /** The body of `POST /sentinel/chat-requirements`, registering its token. */
  issue(owner: string, now = Date.now()): ChatRequirements {
    const token = opaque('gAAAAAB', 96);
    const seed = String(Math.random());
    const { proofOfWork, turnstile, arkose } = this.options;
    remember(this.#tokens, token, {
      owner,
      seed,
      difficulty: proofOfWork.difficulty,
      powRequired: proofOfWork.required,
      expiresAt: now + this.options.tokenTtlSeconds * 1000,
      used: false,
    });
    return {
      persona: this.options.persona,
      token,
      expire_after: this.options.tokenTtlSeconds,
      expire_at: Math.floor(now / 1000) + this.options.tokenTtlSeconds,
      ...(this.options.forceLogin ? { force_login: true } : {}),
      arkose: { required: arkose.required, dx: arkose.required ? opaque('', 48) : null },
      turnstile: { required: turnstile.required, dx: turnstile.required ? opaque('', 48) : null },
      proofofwork: proofOfWork.required
        ? { required: true, seed, difficulty: proofOfWork.difficulty }
        : { required: false },
    };
  }

  /** A conduit token for a prepare call. */
  prepare(owner: string, conversationId: string | null, parentMessageId: string | null): string {
    const token = fakeJwt({
      conversation_id: conversationId,
      parent_message_id: parentMessageId,
      exp: Math.floor(Date.now() / 1000) + 600,
      nonce: randomBytes(8).toString('hex'),
    });
    remember(this.#conduits, token, { owner, conversationId, parentMessageId });
    return token;
  }

  /**
   * Checks the sentinel headers of a message POST; consumes the requirements token when it is
   * valid. Returns the reason of a refusal, or undefined when the request may proceed.
   */
  check(
    owner: string,
    headers: {
      requirements: string | undefined;
      proof: string | undefined;
      turnstile: string | undefined;
      conduit: string | undefined;
    },
    target: { conversationId: string | null; parentMessageId: string | null },
    now = Date.now(),
  ): Refusal | undefined {
    if (headers.requirements === undefined || headers.requirements === '') {
      return 'requirements_token_missing';
    }
    const issued = this.#tokens.get(headers.requirements);
    if (issued?.owner !== owner) return 'requirements_token_unknown';
    if (issued.used) return 'requirements_token_reused';
    if (now > issued.expiresAt) return 'requirements_token_expired';
    if (issued.powRequired) {
      if (headers.proof === undefined || headers.proof === '') return 'proof_missing';
      if (!verifyProofAnswer(headers.proof, issued.seed, issued.difficulty)) return 'proof_invalid';
    }
    if (this.options.turnstile.required && this.options.turnstile.enforce) {
      if (headers.turnstile === undefined || headers.turnstile.trim() === '') {
        return 'turnstile_missing';
      }
    }
    if (headers.conduit === undefined || headers.conduit === '') return 'conduit_missing';
    const conduit = this.#conduits.get(headers.conduit);
    if (
      conduit?.owner !== owner ||
      conduit.conversationId !== target.conversationId ||
      conduit.parentMessageId !== target.parentMessageId
    ) {
      return 'conduit_mismatch';
    }
    issued.used = true;
    this.#conduits.delete(headers.conduit);
    return undefined;
  }

  /** Forgets every issued token. */
  clear(): void {
    this.#tokens.clear();
    this.#conduits.clear();
  }
}
