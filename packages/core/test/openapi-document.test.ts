import t from 'tap';
import { STATUS_BY_CODE } from '../src/errors.js';
import { openapiDocument } from '../src/http/openapi.js';
import { createHandler } from '../src/index.js';

type Json = Record<string, unknown>;
const METHODS = ['get', 'post', 'patch', 'delete'];

/** The operations of a document: `[path, method, operation]`. */
function operations(document: Json): [string, string, Json][] {
  return Object.entries(document.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((method) => method in item).map((method): [string, string, Json] => [
      path,
      method,
      item[method] as Json,
    ]),
  );
}

t.test('every route the handler serves is described, with every method, and nothing else', (t) => {
  const document = openapiDocument();
  const described = operations(document).map(([path, method]) => `${method.toUpperCase()} ${path}`);
  const served = createHandler().routes.flatMap((route) =>
    route.methods.map(
      (method) =>
        `${method} ${route.path.replace(':id', route.path.startsWith('/v1') ? '{model}' : '{id}')}`,
    ),
  );
  t.same(described.sort(), served.sort());
  t.end();
});

t.test('operations have unique ids, security, and the errors they really answer', (t) => {
  const document = openapiDocument();
  const ids = operations(document).map(([, , operation]) => operation.operationId);
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  t.ok(ids.every((id) => typeof id === 'string'));
  for (const [path, method, operation] of operations(document)) {
    const statuses = Object.keys(operation.responses as Json);
    const name = `${method.toUpperCase()} ${path}`;
    t.ok(statuses.includes('500'), `${name}: 500`);
    if (path === '/openapi.json') {
      t.same(operation.security, [], 'the document is public');
      continue;
    }
    t.ok(statuses.includes('401'), `${name}: 401`);
    if (path.includes('{id}'))
      t.ok(statuses.includes('404'), `${name}: 404 conversation_not_found`);
    if (operation.requestBody !== undefined) {
      t.ok(statuses.includes('413') && statuses.includes('415'), `${name}: 413, 415`);
    }
    if (!path.startsWith('/v1/models')) {
      for (const status of ['429', '502', '503', '504'])
        t.ok(statuses.includes(status), `${name}: ${status}`);
    }
  }
  const responses = (document.components as Json).responses as Record<string, Json>;
  const codes = Object.values(responses).flatMap((response) =>
    Object.keys(
      ((response.content as Json | undefined)?.['application/json'] as Json | undefined)
        ?.examples ?? {},
    ),
  );
  t.same(
    [...new Set(codes)].sort(),
    Object.keys(STATUS_BY_CODE).sort(),
    'every error code has an example',
  );
  t.same(Object.keys((document.components as Json).securitySchemes as Json), ['bearer', 'apiKey']);
  t.end();
});

t.test('the streams are described event by event', (t) => {
  const schemas = (openapiDocument().components as Json).schemas as Record<string, Json>;
  const events = (schemas.RestStreamEvent?.oneOf as Json[]).map(
    (item) => ((item.properties as Json).event as Json).const,
  );
  t.same(events, ['delta', 'rewrite', 'title', 'reply', 'error', 'done']);
  t.equal((schemas.OpenAIStreamEvent?.oneOf as Json[]).length, 3, 'chunk, error, [DONE]');
  t.end();
});

t.test('GET /openapi.json names where the routes are mounted', async (t) => {
  for (const prefix of ['', '/chat']) {
    const handler = createHandler({ prefix });
    const response = await handler(new Request(`http://x${prefix}/openapi.json`));
    const document = (await response.json()) as { servers: { url: string }[] };
    t.equal(document.servers[0]?.url, prefix === '' ? '/' : prefix);
  }
});
