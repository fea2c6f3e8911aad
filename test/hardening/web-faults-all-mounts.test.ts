/**
 * Issue 10 acceptance: the web dialect's fault cases (sentinel, proof of work, prepare, conduit,
 * refusals) on every mount, not only on the core handler. Each case: the answer's status and
 * code, no message POST where the send must stop early, and nothing escaping to the process.
 */
import {
  createBackendEmulator,
  type BackendEmulatorOptions,
  type FaultRule,
} from '@chatgpt-rest/emulator';
import t from 'tap';
import { MOUNTS, guardProcess } from './harness.js';

interface WebCase {
  name: string;
  emulator?: BackendEmulatorOptions;
  faults?: FaultRule[];
  status: number;
  code: string;
  /** The error text names this (what really happened). */
  says?: RegExp;
  /** The message POST must not be sent. */
  noSend?: boolean;
}

const CASES: WebCase[] = [
  {
    name: 'chat-requirements answers 500',
    faults: [{ match: { path: '/sentinel/chat-requirements' }, fault: { type: 'server_error' } }],
    status: 502,
    code: 'upstream_error',
    noSend: true,
  },
  {
    name: 'chat-requirements answers a Cloudflare page',
    faults: [{ match: { path: '/sentinel/chat-requirements' }, fault: { type: 'cloudflare' } }],
    status: 502,
    code: 'upstream_blocked',
    says: /Cloudflare/,
    noSend: true,
  },
  {
    name: 'a proof of work too hard to solve',
    emulator: { sentinel: { proofOfWork: { required: true, difficulty: '000001' } } },
    status: 502,
    code: 'upstream_blocked',
    says: /proof of work/i,
    noSend: true,
  },
  {
    name: 'the account must log in again',
    emulator: { sentinel: { forceLogin: true } },
    status: 401,
    code: 'invalid_token',
    noSend: true,
  },
  {
    name: 'an enforced Turnstile challenge without a solver',
    emulator: { sentinel: { turnstile: { required: true, enforce: true } } },
    status: 502,
    code: 'upstream_blocked',
    says: /turnstile/i,
  },
  {
    name: 'prepare answers 500',
    faults: [{ match: { path: '/f/conversation/prepare' }, fault: { type: 'server_error' } }],
    status: 502,
    code: 'upstream_error',
    noSend: true,
  },
  {
    name: 'prepare answers without a conduit token',
    faults: [
      {
        match: { path: '/f/conversation/prepare' },
        times: 4,
        fault: { type: 'http', status: 200, body: { status: 'ok' } },
      },
    ],
    status: 502,
    code: 'upstream_blocked',
    says: /conduit/i,
  },
  {
    // A CR/LF in an upstream token made http.request throw: a 503 "unreachable" instead.
    name: 'chat-requirements answers a token with a line break',
    faults: [
      {
        match: { path: '/sentinel/chat-requirements' },
        times: 4,
        fault: {
          type: 'http',
          status: 200,
          body: { token: 'gAAAAAB\r\nx-injected: 1', proofofwork: { required: false } },
        },
      },
    ],
    status: 502,
    code: 'upstream_error',
    says: /cannot be sent as a header/,
    noSend: true,
  },
  {
    name: 'prepare answers a conduit token with a line break',
    faults: [
      {
        match: { path: '/f/conversation/prepare' },
        times: 4,
        fault: { type: 'http', status: 200, body: { status: 'ok', conduit_token: 'eyJ\nx' } },
      },
    ],
    status: 502,
    code: 'upstream_error',
    says: /conduit token cannot be sent as a header/,
    noSend: true,
  },
];

for (const mount of MOUNTS) {
  t.test(`${mount.name}: web dialect faults`, async (t) => {
    const guard = guardProcess(t);
    for (const c of CASES) {
      const emulator = await createBackendEmulator({
        dialect: 'web',
        ...c.emulator,
        ...(c.faults === undefined ? {} : { faults: c.faults }),
      });
      const app = await mount.start({
        options: { upstream: emulator.url, dialect: 'web' },
        prefix: '',
        bodyParser: true,
      });
      try {
        const response = await fetch(`${app.url}/conversations/new`, {
          method: 'POST',
          headers: {
            authorization: 'Bearer web-faults-token-1',
            'content-type': 'application/json',
          },
          body: '{"prompt":"hi"}',
        });
        const body = (await response.json()) as { code: string; error: string };
        t.equal(response.status, c.status, `${c.name}: ${c.status}`);
        t.equal(body.code, c.code, `${c.name}: ${c.code}`);
        if (c.says !== undefined) t.match(body.error, c.says, `${c.name}: says what happened`);
        if (c.noSend === true) {
          const sends = emulator.requests.filter((r) => r.path === '/backend-api/f/conversation');
          t.equal(sends.length, 0, `${c.name}: no message POST`);
        }
      } finally {
        await app.close();
        await emulator.close();
      }
    }
    t.same(guard.escaped, []);
  });
}
