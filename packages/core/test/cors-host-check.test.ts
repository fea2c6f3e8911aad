/**
 * A host's `cors.origins` function is host code: whatever it does (throw, or come back with a
 * promise that rejects) refuses the origin and never reaches the process as an unhandled error.
 */
import t from 'tap';
import { corsPolicy } from '../src/http/cors.js';

const preflight = (origin: string) =>
  new Request('http://127.0.0.1/conversations', {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET' },
  });

t.test(
  'an async origins check that rejects refuses the origin, its rejection handled',
  async (t) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    t.teardown(() => process.off('unhandledRejection', onUnhandled));
    // Typed boolean, but plain JavaScript may pass an async lookup (a database, say).
    const origins = (async () => {
      await Promise.resolve();
      throw new Error('origin lookup failed');
    }) as unknown as (origin: string) => boolean;
    const policy = corsPolicy({ origins })!;
    const answer = policy.preflight(preflight('https://app.example.com'), ['GET']);
    t.equal(answer?.headers.get('access-control-allow-origin') ?? null, null, 'refused');
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.same(unhandled, [], 'no unhandled rejection');
  },
);

t.test('an origins check that returns a promise of true still refuses (it is not true)', (t) => {
  const origins = (() => Promise.resolve(true)) as unknown as (origin: string) => boolean;
  const answer = corsPolicy({ origins })!.preflight(preflight('https://app.example.com'), ['GET']);
  t.equal(answer?.headers.get('access-control-allow-origin') ?? null, null);
  t.end();
});
