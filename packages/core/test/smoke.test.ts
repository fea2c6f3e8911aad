import t from 'tap';
import { version } from '@chatgpt-rest/core';

t.test('the core resolves to its sources', (t) => {
  t.equal(version, '0.1.0');
  t.end();
});
