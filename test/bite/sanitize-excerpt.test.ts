/**
 * Issue 12, tests that bite: the sanitiser of upstream error text (`sanitizeExcerpt`) redacts
 * every token shape it promises to, not only the ones a capture test happens to contain. Each
 * rule is checked on its own and at its boundary, so dropping or loosening one rule fails here.
 */
import t from 'tap';
import { sanitizeExcerpt } from '../../packages/core/src/stream/stream-errors.js';

t.test('JWT-shaped tokens are redacted, also with short segments', (t) => {
  // Segments shorter than 40 characters: only the JWT rule catches them, not the base64 one.
  t.equal(
    sanitizeExcerpt('token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl expired'),
    'token [redacted] expired',
  );
  t.equal(sanitizeExcerpt('jwt eyJhbGciOiJub25lIn0.eyJ4IjoxfQ. rest'), 'jwt [redacted] rest');
  t.equal(sanitizeExcerpt('two parts eyJhbGci.eyJzdWIi end'), 'two parts [redacted] end');
  t.equal(sanitizeExcerpt('with-dash eyJh_b-c.d_e-f.g-h_i end'), 'with-dash [redacted] end');
  t.notOk(sanitizeExcerpt('x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig').includes('eyJ'));
  t.end();
});

t.test('Bearer and Basic credentials keep their scheme and lose their value', (t) => {
  t.equal(sanitizeExcerpt('Authorization: Bearer abc.def'), 'Authorization: Bearer [redacted]');
  t.equal(sanitizeExcerpt('sent bearer xyz123 to us'), 'sent bearer [redacted] to us');
  t.equal(sanitizeExcerpt('Basic dXNlcjpwYXNz denied'), 'Basic [redacted] denied');
  t.equal(sanitizeExcerpt('BASIC\tdXNlcjpwYXNz'), 'BASIC [redacted]');
  // A word that only contains the scheme is not a credential.
  t.equal(sanitizeExcerpt('Bearers ok'), 'Bearers ok');
  t.end();
});

t.test('sk-, sess- and rt- keys of 8 or more characters are redacted', (t) => {
  t.equal(sanitizeExcerpt('key sk-abcdefghijklmnop used'), 'key [redacted] used');
  t.equal(sanitizeExcerpt('key sk-proj_ab-cd_efgh used'), 'key [redacted] used');
  t.equal(sanitizeExcerpt('session sess-12345678 gone'), 'session [redacted] gone');
  t.equal(sanitizeExcerpt('refresh rt-ABCDEFGH_ij gone'), 'refresh [redacted] gone');
  // Below the length floor these are ordinary words.
  t.equal(sanitizeExcerpt('sk-1234567 sess-abc rt-x'), 'sk-1234567 sess-abc rt-x');
  t.end();
});

t.test('long base64-ish strings (40+ characters) are redacted, shorter ones kept', (t) => {
  t.equal(sanitizeExcerpt(`blob ${'A'.repeat(60)} end`), 'blob [redacted] end');
  t.equal(sanitizeExcerpt(`b ${'a'.repeat(40)} e`), 'b [redacted] e');
  t.equal(sanitizeExcerpt(`b ${'Zz09+/_-'.repeat(5)}== e`), 'b [redacted] e');
  t.equal(sanitizeExcerpt(`b ${'a'.repeat(39)} e`), `b ${'a'.repeat(39)} e`);
  t.end();
});

t.test('text holding HTML gives the empty string', (t) => {
  t.equal(sanitizeExcerpt('<!DOCTYPE html><title>Just a moment</title>'), '');
  t.equal(sanitizeExcerpt('error: <b>Bad gateway</b>'), '');
  t.equal(sanitizeExcerpt('closing </div> only'), '');
  t.equal(sanitizeExcerpt('<HTML>'), '');
  // Comparisons are not tags.
  t.equal(sanitizeExcerpt('a < b and c > d'), 'a < b and c > d');
  t.end();
});

t.test('control characters and runs of whitespace collapse to one space, trimmed', (t) => {
  t.equal(sanitizeExcerpt('line\none\u0000two'), 'line one two');
  t.equal(sanitizeExcerpt('\u0007bell\u001b[31mred\u007f '), 'bell [31mred');
  t.equal(sanitizeExcerpt('  many    spaces\r\n\r\nhere\t '), 'many spaces here');
  t.equal(sanitizeExcerpt(''), '');
  t.end();
});

t.test('the excerpt is capped at 160 characters, ending in an ellipsis when cut', (t) => {
  const exact = 'x'.repeat(30) + ' ' + 'y'.repeat(30) + ' ';
  const at160 = exact.repeat(3).slice(0, 160);
  t.equal(at160.length, 160);
  t.equal(sanitizeExcerpt(at160), at160, '160 characters are kept whole');
  const at161 = `${at160}w`;
  const cut = sanitizeExcerpt(at161);
  t.equal(cut.length, 160);
  t.equal(cut, `${at160.slice(0, 159)}…`);
  const long = sanitizeExcerpt('word '.repeat(100));
  t.equal(long.length, 160);
  t.ok(long.endsWith('…'));
  t.end();
});

t.test('redaction happens before the cap: a token straddling 160 never shows its head', (t) => {
  const text = `${'w '.repeat(70)}Bearer secret-value-${'q'.repeat(30)}`;
  const excerpt = sanitizeExcerpt(text);
  t.notOk(excerpt.includes('secret'));
  t.end();
});
