import t from 'tap';
import { jsonText } from '../src/http/json-text.js';
import { isRestError } from '../src/errors.js';

t.test('jsonText: a value nested past what the engine encodes is the upstream_error', (t) => {
  const deep: unknown = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
  const thrown = t.throws(() => jsonText(deep)) as unknown;
  t.ok(isRestError(thrown), 'a RestError, not a RangeError');
  t.match(thrown, { code: 'upstream_error', status: 502 });
  t.end();
});

t.test('jsonText: other failures are bugs and stay what they are', (t) => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  t.throws(() => jsonText(circular), TypeError);
  t.equal(jsonText({ a: [1, 'x'] }), '{"a":[1,"x"]}');
  t.end();
});
