/**
 * Which bearer tokens the emulator accepts. By default any non-empty token is valid; tokens can
 * be declared expired (401 `token_expired`) or invalid (401 `invalid_jwt` or `invalid_token`),
 * at start or at run time (`emulator.tokens.expire(token)`).
 */
import type { ErrorAnswer } from './backend-errors.js';
import { invalidJwt, invalidToken, tokenExpired, unauthorized } from './backend-errors.js';

/** How a token is treated. */
export type TokenState = 'valid' | 'expired' | 'invalid_jwt' | 'invalid_token';

/** Token declarations of the emulator options. */
export interface TokenOptions {
  valid?: string[];
  expired?: string[];
  invalid?: string[];
  /** What an undeclared token is. Default `'valid'`. */
  default?: TokenState;
}

/** The emulator's token registry. */
export class AccessTokens {
  readonly #states = new Map<string, TokenState>();
  /** State of tokens nobody declared. */
  defaultState: TokenState;

  constructor(options: TokenOptions = {}) {
    this.defaultState = options.default ?? 'valid';
    for (const token of options.valid ?? []) this.#states.set(token, 'valid');
    for (const token of options.expired ?? []) this.#states.set(token, 'expired');
    for (const token of options.invalid ?? []) this.#states.set(token, 'invalid_jwt');
  }

  /** Declares a token valid. */
  allow(token: string): void {
    this.#states.set(token, 'valid');
  }

  /** Declares a token expired: requests get 401 `token_expired`. */
  expire(token: string): void {
    this.#states.set(token, 'expired');
  }

  /** Declares a token invalid: 401 `invalid_jwt` (default) or `{"detail": "invalid_token"}`. */
  invalidate(token: string, style: 'invalid_jwt' | 'invalid_token' = 'invalid_jwt'): void {
    this.#states.set(token, style);
  }

  /** The state of a token. */
  state(token: string): TokenState {
    return this.#states.get(token) ?? this.defaultState;
  }

  /** Forgets every declaration. */
  clear(): void {
    this.#states.clear();
  }

  /** The bearer token of an `Authorization` header, or the 401 answer refusing it. */
  authenticate(header: string | undefined): { token: string } | { answer: ErrorAnswer } {
    const match = /^Bearer\s+(\S.*)$/i.exec(header?.trim() ?? '');
    const token = match?.[1]?.trim();
    if (token === undefined || token === '') return { answer: unauthorized() };
    switch (this.state(token)) {
      case 'expired':
        return { answer: tokenExpired() };
      case 'invalid_jwt':
        return { answer: invalidJwt() };
      case 'invalid_token':
        return { answer: invalidToken() };
      default:
        return { token };
    }
  }
}
