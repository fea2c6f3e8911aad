import t from 'tap';
import { RestError } from '../src/errors.js';
import { redacted } from '../src/http/failures.js';

const SECRET = 'acct.7Hq2xZ91kLmPq0.Rt5vWn3b';
const say = (message: string) => redacted(new RestError('upstream_error', message), [SECRET]);

t.test('redacted: whole secrets, and parts cut off at either end of the text', (t) => {
  t.equal(say(`bad ${SECRET} here`).message, 'bad [redacted] here');
  t.equal(say(`cut at the end ${SECRET.slice(0, 15)}…`).message, 'cut at the end [redacted]…');
  t.equal(say(`cut without a mark ${SECRET.slice(0, 9)}`).message, 'cut without a mark [redacted]');
  t.equal(
    say(`${SECRET.slice(-10)} was cut at the start`).message,
    '[redacted] was cut at the start',
  );
  t.equal(say(`${SECRET} and ${SECRET.slice(0, 12)}…`).message, '[redacted] and [redacted]…');
  t.end();
});

t.test('redacted: what is not a cut secret stays', (t) => {
  const shortPart = `ends in ${SECRET.slice(0, 7)}`;
  t.equal(say(shortPart).message, shortPart, 'fewer than 8 characters are ordinary text');
  const inside = `an ${SECRET.slice(3, 20)} inside the text is not a cut`;
  t.equal(say(inside).message, inside);
  const error = new RestError('upstream_error', 'nothing secret');
  t.equal(redacted(error, [SECRET]), error, 'the same error when nothing changed');
  t.end();
});
