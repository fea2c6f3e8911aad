import t from 'tap';
import type { Logger } from '../src/logger.js';
import {
  requestIdOf,
  requestLogger,
  validRequestId,
  withRequestId,
} from '../src/http/request-id.js';

t.test(
  'validRequestId: visible ASCII, 1 to 128 characters, nothing that quotes or marks up',
  (t) => {
    for (const ok of [
      'a',
      'x'.repeat(128),
      'Root=1-5759e988;Parent=53995c3f;Sampled=1',
      'req-1',
      'a/b+c=',
    ]) {
      t.equal(validRequestId(ok), ok, ok.slice(0, 20));
    }
    for (const bad of [
      '',
      'x'.repeat(129),
      'a b',
      'a"b',
      "a'b",
      'a\\b',
      'a<b',
      'a>b',
      'a`b',
      'é',
      'a\nb',
      'a\tb',
      7,
      undefined,
    ]) {
      t.equal(validRequestId(bad), undefined, JSON.stringify(bad));
    }
    t.end();
  },
);

t.test('requestIdOf: the header when valid, else a new UUID each time', (t) => {
  t.equal(requestIdOf(new Headers({ 'x-request-id': 'abc' })), 'abc');
  const made = requestIdOf(new Headers({ 'x-request-id': 'a b' }));
  t.match(made, /^[0-9a-f-]{36}$/);
  t.not(requestIdOf(new Headers()), made);
  t.end();
});

t.test('requestLogger: a child on the first line only; merged fields without child()', (t) => {
  const seen: object[] = [];
  let children = 0;
  const line = (obj: object): void => void seen.push(obj);
  const base: Logger = {
    debug: line,
    info: line,
    warn: line,
    error: line,
    child: (bindings) => {
      children++;
      const merged = (obj: object): void => void seen.push({ ...bindings, ...obj });
      return { debug: merged, info: merged, warn: merged, error: merged };
    },
  };
  requestLogger(base, 'quiet');
  t.equal(children, 0, 'a request that logs nothing makes no child');
  const log = requestLogger(base, 'id-1');
  log.info({ a: 1 });
  log.warn({ b: 2 });
  t.equal(children, 1, 'one child per request');
  t.same(seen, [
    { requestId: 'id-1', a: 1 },
    { requestId: 'id-1', b: 2 },
  ]);

  seen.length = 0;
  requestLogger({ debug: line, info: line, warn: line, error: line }, 'id-2').error({ c: 3 });
  t.same(seen, [{ requestId: 'id-2', c: 3 }], 'no child(): the field is merged');

  seen.length = 0;
  const throwing: Logger = {
    ...base,
    child: () => {
      throw new Error('no');
    },
  };
  requestLogger(throwing, 'id-3').info({ d: 4 });
  t.same(seen, [{ requestId: 'id-3', d: 4 }], 'a failing child(): merged too');
  t.end();
});

t.test('withRequestId: an immutable Response is copied with the header', (t) => {
  const immutable = Response.redirect('http://127.0.0.1/', 302); // headers immutable
  const copied = withRequestId(immutable, 'id-9');
  t.equal(copied.headers.get('x-request-id'), 'id-9');
  const own = new Response('x');
  t.equal(withRequestId(own, 'id-8'), own, 'a mutable one is set in place');
  t.equal(own.headers.get('x-request-id'), 'id-8');
  t.end();
});
