/** The `auth` option: who clients are and which tokens the server holds. */
import type { HeldToken } from './held-token.js';
import type { TokenPool } from './token-pool.js';

export type { HeldToken };

/** How clients authenticate. */
export type AuthOptions =
  | {
      /** Each request carries the ChatGPT access token in `Authorization` (the seed's way). */
      mode: 'passthrough';
    }
  | {
      /** The server holds the access tokens; clients send one of `apiKeys`. */
      mode: 'server';
      /** The access tokens to use upstream. At least one. */
      tokens: HeldToken[];
      /** Keys clients send as `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
      apiKeys: string[];
      /** Allow requests without any API key when `apiKeys` is empty. Default `false`: fail closed. */
      allowOpen?: boolean;
      /**
       * Per-token message queue: the upstream answers one message at a time per account, so a
       * second one waits (at most `size` waiting, each at most `waitMs`) instead of being refused.
       * @default { size: 8, waitMs: 20000 }
       */
      queue?: { size?: number; waitMs?: number };
      /**
       * A pool of these tokens shared with another server part (the sidecar's pass-through), so
       * both count the same load; built from `tokens` when absent.
       */
      pool?: TokenPool;
    };
