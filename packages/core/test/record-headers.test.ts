import { inspect } from 'node:util';
import t from 'tap';
import { RecordHeaders, headerPairs, unfilledRecord } from '../src/http/record-headers.js';
import { jsonResponse } from '../src/http/responses.js';
import { WholeResponse, genuineResponse } from '../src/http/whole-response.js';

/** A record as Node gives one: lowercase names, set-cookie as an array, a pseudo-header. */
const nodeRecord = () => ({
  'content-type': 'application/json',
  'set-cookie': ['a=1', 'b=2'],
  ':path': '/x',
  'x-a': 'v',
});

/** The same headers as a filled `Headers` built the way the core used to build them. */
function filledFrom(record: ReturnType<typeof nodeRecord>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(record)) {
    if (name.startsWith(':')) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}

t.test('RecordHeaders answers every read as a filled Headers would', (t) => {
  const lazy = new RecordHeaders(nodeRecord());
  const filled = filledFrom(nodeRecord());
  for (const name of ['content-type', 'Content-Type', 'set-cookie', 'x-a', 'absent']) {
    t.equal(lazy.get(name), filled.get(name), `get(${name})`);
    t.equal(lazy.has(name), filled.has(name), `has(${name})`);
  }
  t.ok(unfilledRecord(lazy), 'lookups leave it unfilled');
  t.throws(() => lazy.get(':path'), TypeError, 'a pseudo-header is no name, as for Headers');
  t.throws(() => lazy.get('bad name'), TypeError);
  t.same(headerPairs(lazy), [...filled].sort(byName), 'pairs from the record');
  t.same([...lazy], [...filled], 'iterating fills it: then it is the filled Headers');
  t.equal(unfilledRecord(lazy), undefined);
  t.same(lazy.getSetCookie(), ['a=1', 'b=2']);
  t.end();
});

t.test('RecordHeaders keeps plain changes in its record and fills for the rest', (t) => {
  const lazy = new RecordHeaders({ 'x-a': 'v' });
  lazy.set('x-request-id', 'abc');
  lazy.append('x-b', '1');
  lazy.delete('x-a');
  t.same(
    headerPairs(lazy),
    [
      ['x-request-id', 'abc'],
      ['x-b', '1'],
    ],
    'a deleted name is never written',
  );
  t.ok(unfilledRecord(lazy), 'still unfilled');
  t.equal(lazy.get('x-a'), null);

  const padded = new RecordHeaders({});
  padded.set('x-padded', '  value ');
  t.equal(unfilledRecord(padded), undefined, 'a value Headers would change fills it first');
  t.equal(padded.get('x-padded'), 'value');

  const twice = new RecordHeaders({ 'x-a': 'v' });
  twice.append('x-a', 'w');
  t.equal(twice.get('x-a'), 'v, w', 'appending to a name already there fills it');

  const refused = new RecordHeaders({});
  t.throws(() => refused.set('x-a', 'a\nb'), TypeError, 'a value Headers refuses is refused');
  t.throws(() => refused.set('x-a', 'π'), TypeError, 'so is one that is not bytes');
  t.throws(() => refused.set('bad name', 'v'), TypeError);
  t.end();
});

t.test('RecordHeaders goes into web objects and logs as the headers it holds', (t) => {
  const lazy = () => new RecordHeaders(nodeRecord());
  t.same([...new Headers(lazy())], [...filledFrom(nodeRecord())]);
  t.same([...new Response(null, { headers: lazy() }).headers], [...filledFrom(nodeRecord())]);
  t.same([...new Request('http://x/', { headers: lazy() }).headers], [...filledFrom(nodeRecord())]);
  t.match(inspect(lazy()), /content-type.*application\/json/s, 'inspect shows the record');
  t.end();
});

t.test('a JSON answer keeps its headers in a record until someone needs them', async (t) => {
  const response = jsonResponse(429, { a: 1 }, { 'retry-after': '3' });
  response.headers.set('x-request-id', 'id-1');
  t.same(Object.fromEntries(headerPairs(response.headers)), {
    'retry-after': '3',
    'content-type': 'application/json; charset=utf-8',
    'content-length': '7',
    'x-request-id': 'id-1',
  });
  t.ok(unfilledRecord(response.headers), 'no Headers filled to write it');
  const real = genuineResponse(response);
  t.equal(real.headers.get('x-request-id'), 'id-1', 'the genuine Response has them all');
  t.equal(real.headers.get('retry-after'), '3');
  t.equal(await real.text(), '{"a":1}');

  const plain = new WholeResponse('x', { status: 200, headers: { 'x-a': '1' } });
  t.equal(plain.headers.get('x-a'), '1', 'other headers inits still work as before');
});

function byName(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
