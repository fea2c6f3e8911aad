/** The token pool's deprecated `wrapFetch`: a `fetch` whose held-token requests take leases. */
import { readLimited } from '../upstream/read-limited.js';
import { bearerToken } from './bearer.js';
import { isMessagePost, leasedResponse, type Lease, type LeaseOptions } from './lease.js';

/** What {@link poolFetch} needs of the pool. */
export interface LeasingPool {
  labelOf(token: string): string | undefined;
  lease(label: string, options: LeaseOptions): Promise<Lease>;
}

/**
 * How long a 401 or 429 body is read to learn from it: one that trickles or never ends must not
 * keep the answer waiting (what came by then is what the pool learns from).
 */
export const SNIFF_DEADLINE_MS = 10_000;

/**
 * Wraps `inner`: a request carrying a held token in `Authorization` takes the pool's lease
 * (load, message slot, 401s and caps, the conversation a message stream names).
 */
export function poolFetch(
  pool: LeasingPool,
  inner: typeof fetch,
  sniffDeadlineMs = SNIFF_DEADLINE_MS,
): typeof fetch {
  return async (input, init) => {
    const token = bearerToken(new Headers(init?.headers).get('authorization'));
    const label = token === undefined ? undefined : pool.labelOf(token);
    if (label === undefined || token === undefined) return inner(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const message = isMessagePost(init?.method ?? 'GET', url.pathname);
    const lease = await pool.lease(label, { message, signal: init?.signal ?? undefined, token });
    let response: Response;
    try {
      response = await inner(input, init);
    } catch (error) {
      lease.release();
      throw error;
    }
    if (response.status === 401 || response.status === 429) {
      // Sniffed within a cap and a deadline: an endless 401 body must not be buffered whole to
      // learn from it, nor a trickling one hold the answer back.
      const text = await readLimited(response.clone(), undefined, sniffDeadlineMs).catch(() => '');
      lease.observe(response.status, text, response.headers);
    }
    return leasedResponse(response, lease);
  };
}
