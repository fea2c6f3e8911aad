/**
 * A body the host's parser skipped. Express 4's parsers and Koa's bodyparser set `{}` without
 * reading a type they do not take (a form behind `express.json()` alone, JSON behind
 * `express.urlencoded()` alone, `application/merge-patch+json`, a form behind a JSON-only Koa
 * parser); the mounts pass that `{}` as the body, and the core took it and never read the real one:
 * "prompt is required". A given body counts when the stream was consumed or when it holds
 * something; an empty one over an unread stream is the parser's placeholder, and the core reads
 * the stream itself.
 */
import type { RequestListener } from 'node:http';
import bodyParser from '@koa/bodyparser';
import { toWebRequest } from '@chatgpt-rest/core';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { chatGptRoutes as expressRoutes } from '@chatgpt-rest/express';
import { chatGptRoutes as koaRoutes } from '@chatgpt-rest/koa';
import { listenOn } from '@chatgpt-rest/test-kit';
import express5 from 'express';
import express4 from 'express4';
import Koa3 from 'koa';
import Koa2 from 'koa2';
import t, { type Test } from 'tap';
import { guardProcess } from './harness.js';

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
const MERGE_PATCH = 'application/merge-patch+json';

/** A body of `type` asking for a reply. */
function promptBody(type: string): string {
  return type === FORM ? 'prompt=hello+there&stream=false' : '{"prompt":"hello there"}';
}

/** An app with one parser before our routes, and the types that parser skips. */
interface App {
  name: string;
  skipped: string[];
  listener(upstream: string): RequestListener;
}

function expressApp(name: string, factory: typeof express5, parser: 'json' | 'urlencoded'): App {
  return {
    name: `${name} with express.${parser}() alone`,
    skipped: parser === 'json' ? [FORM, MERGE_PATCH] : [JSON_TYPE, MERGE_PATCH],
    listener: (upstream) => {
      const app = factory();
      app.use(parser === 'json' ? factory.json() : factory.urlencoded({ extended: false }));
      app.use(expressRoutes({ upstream, dialect: 'legacy' }));
      return app;
    },
  };
}

function koaApp(name: string, Koa: typeof Koa3, enableTypes?: ['json']): App {
  return {
    name: `${name} with bodyparser(${enableTypes === undefined ? '' : '{ enableTypes: json }'})`,
    skipped: enableTypes === undefined ? [MERGE_PATCH] : [FORM, MERGE_PATCH],
    listener: (upstream) => {
      const app = new Koa();
      const routes = koaRoutes({ upstream, dialect: 'legacy' });
      app.use(routes.errors);
      app.use(bodyParser(enableTypes === undefined ? {} : { enableTypes }));
      app.use(routes);
      const callback = app.callback();
      return (req, res) => void callback(req, res);
    },
  };
}

const APPS: App[] = [
  expressApp('express 4', express4, 'json'),
  expressApp('express 4', express4, 'urlencoded'),
  expressApp('express 5', express5, 'json'),
  koaApp('koa 3', Koa3),
  koaApp('koa 3', Koa3, ['json']),
  koaApp('koa 2', Koa2),
  koaApp('koa 2', Koa2, ['json']),
];

async function start(t: Test, app: App): Promise<string> {
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  return `http://127.0.0.1:${await listenOn(t, app.listener(emulator.url))}`;
}

function post(base: string, type: string, body: string): Promise<Response> {
  return fetch(`${base}/conversations/new`, {
    method: 'POST',
    headers: { authorization: 'Bearer skipped-body-token-0123', 'content-type': type },
    body,
  });
}

for (const app of APPS) {
  t.test(`${app.name}: a body its parser skipped is read by the core`, async (t) => {
    const guard = guardProcess(t);
    const base = await start(t, app);
    for (const type of app.skipped) {
      const response = await post(base, type, promptBody(type));
      t.equal(response.status, 201, type);
      t.match(await response.json(), { response: { author: { role: 'assistant' } } }, type);
    }
    // A body the parser did read, empty, is still the body (the stream is used up).
    const parsed = app.skipped.includes(JSON_TYPE) ? FORM : JSON_TYPE;
    const empty = await post(base, parsed, parsed === FORM ? '' : '{}');
    t.equal(empty.status, 400);
    t.match(await empty.json(), { field: 'prompt' });
    t.same(guard.escaped, []);
  });
}

t.test('a given body that holds something is the body, the stream unread', async (t) => {
  let body = '';
  const port = await listenOn(t, (req, res) => {
    const request = toWebRequest(req, res, { body: { prompt: 'given' } });
    void request.text().then((text) => {
      body = text;
      res.end();
    });
  });
  await post(`http://127.0.0.1:${port}`, JSON_TYPE, '{"prompt":"sent"}');
  t.equal(body, '{"prompt":"given"}');
});

t.test('a given empty body over an unread stream leaves the body in the stream', async (t) => {
  let body = '';
  const port = await listenOn(t, (req, res) => {
    const request = toWebRequest(req, res, { body: {} });
    void request.text().then((text) => {
      body = text;
      res.end();
    });
  });
  await post(`http://127.0.0.1:${port}`, JSON_TYPE, '{"prompt":"sent"}');
  t.equal(body, '{"prompt":"sent"}');
});
