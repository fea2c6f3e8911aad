import t, { type Test } from 'tap';
import type { ChatGptRestOptions, Reply as ReplyType } from '@chatgpt-rest/core';
import {
  createBackendEmulator,
  type BackendEmulator,
  type BackendEmulatorOptions,
  type EmulatorSettings,
  type RecordedRequest,
} from '@chatgpt-rest/emulator';
import type { Mount, Started } from './mounts.js';
import { allEvents, createOpenApiValidator, readEvents } from '@chatgpt-rest/test-kit';
import type { OpenApiValidator } from '@chatgpt-rest/test-kit';
import { openapiDocument } from '../../packages/core/src/http/openapi.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PRELIMINARY = /\/(sentinel\/chat-requirements|f\/conversation\/prepare)$/;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/** The host app's own routes (mounts.ts): not ours, so not in the document. */
const HOST_ROUTES = new Set(['/health', '/echo', '/not-ours']);
/** Each started app's origin and the path it mounts the routes at. */
const mountedAt = new Map<string, string>();
const validators = new Map<string, OpenApiValidator>();
/** The test that answers go to: the running case (or the run). */
let checking: Test | undefined;
/** How many answers were checked against the OpenAPI document in this process. */
let checked = 0;

/**
 * Every call of this suite goes through this `fetch` (it shadows the global one), so no case
 * can skip it: each answer of our routes is checked against the OpenAPI document the mount
 * serves (its `servers` entry says where it is mounted) by @chatgpt-rest/test-kit's Ajv
 * validator, the status and headers at once, a JSON body whole, an event stream event by event
 * as the case reads it. A problem fails the running case. Only the host app's own routes and
 * paths outside the mount are left out: they are not this API.
 */
async function fetch(input: string, init?: RequestInit): Promise<Response> {
  const response = await globalThis.fetch(input, init);
  const url = new URL(input);
  const base = mountedAt.get(url.origin);
  const test = checking;
  if (base === undefined || test === undefined) {
    throw new Error(`an answer from an app the suite did not start: ${url.origin}`);
  }
  if (HOST_ROUTES.has(url.pathname) || (base !== '' && !url.pathname.startsWith(`${base}/`))) {
    return response;
  }
  let validator = validators.get(base);
  if (validator === undefined) {
    validator = createOpenApiValidator(openapiDocument(base));
    validators.set(base, validator);
  }
  checked++;
  return validator.watch(init?.method ?? 'GET', url.pathname, response, (problem) =>
    test.fail(`OpenAPI: ${problem}`),
  );
}

/** A request of a case: `json` or `form` bodies, and `viaPrefixed` to use the second app. */
export type ApiInit = RequestInit & {
  json?: unknown;
  form?: Record<string, string>;
  /** Send it to the second app instance (under `/chat`, no body parser, its own empty cache). */
  viaPrefixed?: boolean;
  /** Send it to another started app (at its root). */
  via?: Started;
};

/** What every case gets: a client bound to its own access token, and the emulator behind it. */
export interface CaseContext {
  t: Test;
  emulator: BackendEmulator;
  /** The access token of this case upstream (conversations are per token, so cases do not meet). */
  token: string;
  /** What the client sends: the access token, or in server-held mode this case's API key. */
  credential: string;
  /** Server-held tokens: the server holds `token` and clients send `credential`, an API key. */
  held: boolean;
  /** Fetches `path` (relative to the mount) with this case's token unless headers say otherwise. */
  api: (path: string, init?: ApiInit) => Promise<Response>;
  /** Creates a conversation and returns its first reply. */
  newConversation: (prompt?: string) => Promise<Reply>;
  /** The upstream requests this case's token made since `since` (a `requests.length`). */
  upstreamSince: (since: number) => RecordedRequest[];
  /** The upstream path of a message POST in this run's dialect (`/backend-api/conversation` or `/backend-api/f/conversation`). */
  sendPath: string;
  /** The upstream dialect of this run. */
  dialect: 'legacy' | 'web';
  /** True for the message POST itself (not the web dialect's sentinel and prepare steps). */
  isSend: (request: RecordedRequest) => boolean;
  /** The app (its own routes live beside ours at the root). */
  app: Started;
  /** A second instance of the app: mounted under `/chat`, without the framework's body parser. */
  prefixed: Started;
}

/** What the REST API answers, as a client of this suite reads it. */
type Reply = ReplyType & { create_time?: string | null };

const SEED_FIELDS = [
  'author',
  'citations',
  'conversation_id',
  'end_turn',
  'finish_details',
  'message',
  'model',
  'parent_id',
  'recipient',
];

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function expectError(
  t: Test,
  response: Response,
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  t.equal(response.status, status, `status ${status}`);
  t.match(response.headers.get('content-type'), /application\/json/);
  const body = await json(response);
  t.equal(body.code, code, `code ${code}`);
  t.type(body.error, 'string');
  t.match(body, extra);
  return body;
}

type Case = [name: string, run: (c: CaseContext) => Promise<void>];

/** Runs `body` with some emulator settings changed, and puts them back whatever happens. */
async function withSettings(
  emulator: BackendEmulator,
  patch: Partial<EmulatorSettings>,
  body: () => Promise<void>,
): Promise<void> {
  const saved = Object.fromEntries(
    Object.keys(patch).map((key) => [key, emulator.settings[key as keyof EmulatorSettings]]),
  );
  Object.assign(emulator.settings, patch);
  try {
    await body();
  } finally {
    Object.assign(emulator.settings, saved);
  }
}

/** The cases, in order. Each is a sentence about behaviour. */
export const CASES: Case[] = [
  [
    'GET /conversations lists newest first with X-Total-Count, limit and offset',
    async ({ t, api, newConversation }) => {
      const first = await newConversation('first');
      const second = await newConversation('second');
      const response = await api('/conversations?limit=1&offset=0');
      t.equal(response.status, 200);
      t.equal(response.headers.get('x-total-count'), '2');
      const page = await json<Record<string, unknown>[]>(response);
      t.equal(page.length, 1);
      t.equal(page[0]?.id, second.conversation_id);
      t.match(page[0], {
        title: String,
        create_time: String,
        update_time: String,
        mapping: null,
        current_node: null,
      });
      const next = await json<Record<string, unknown>[]>(
        await api('/conversations?limit=1&offset=1'),
      );
      t.equal(next[0]?.id, first.conversation_id);
      const all = await json<unknown[]>(await api('/conversations'));
      t.equal(all.length, 2, 'default limit 10 covers both');
    },
  ],
  [
    'bad limit or offset gets a 400 JSON error naming the field, never an HTML 500',
    async ({ t, api }) => {
      for (const query of ['limit=0', 'limit=101', 'limit=abc', 'offset=-1', 'offset=x']) {
        const field = query.split('=')[0] as string;
        await expectError(t, await api(`/conversations?${query}`), 400, 'invalid_request', {
          field,
        });
      }
    },
  ],
  [
    'POST /conversations/new answers 201 with the seed reply object and the generated title',
    async ({ t, api }) => {
      const response = await api('/conversations/new', {
        method: 'POST',
        json: { prompt: 'Hello there' },
      });
      t.equal(response.status, 201);
      const { response: reply } = await json<{ response: Reply }>(response);
      t.same(
        Object.keys(reply)
          .filter((k) => k !== 'title')
          .sort(),
        SEED_FIELDS,
      );
      t.match(reply.conversation_id, UUID);
      t.match(reply.parent_id, UUID);
      t.equal(reply.author.role, 'assistant');
      t.ok(reply.message.length > 0);
      t.equal(reply.finish_details, 'stop');
      t.equal(reply.end_turn, true);
      t.equal(reply.recipient, 'all');
      t.type(reply.model, 'string');
      t.type(reply.title, 'string');
    },
  ],
  [
    'a title given to /conversations/new renames the conversation upstream before the reply',
    async ({ t, api }) => {
      const { response: reply } = await json<{ response: Reply }>(
        await api('/conversations/new', {
          method: 'POST',
          json: { prompt: 'Hi', title: 'My title' },
        }),
      );
      t.equal(reply.title, 'My title');
      const list = await json<{ id: string; title: string }[]>(await api('/conversations'));
      t.equal(list.find((c) => c.id === reply.conversation_id)?.title, 'My title');
    },
  ],
  [
    'a seed client works verbatim: form bodies, a bare token, autocontinue=True, parent_id chaining',
    async ({ t, api, credential }) => {
      const headers = { authorization: credential };
      const created = await api('/conversations/new', {
        method: 'POST',
        headers,
        form: { prompt: 'Who are you?', autocontinue: 'True' },
      });
      t.equal(created.status, 201);
      const first = (await json<{ response: Reply }>(created)).response;
      const asked = await api(`/conversations/${first.conversation_id}/ask`, {
        method: 'POST',
        headers,
        form: { prompt: 'And then?', parent_id: first.parent_id, autocontinue: 'false' },
      });
      t.equal(asked.status, 201);
      const second = (await json<{ response: Reply }>(asked)).response;
      t.equal(second.conversation_id, first.conversation_id);
      const messages = await json<Reply[]>(
        await api(`/conversations/${first.conversation_id}/messages`, { headers }),
      );
      t.same(
        messages.map((m) => [m.author.role, m.parent_id]),
        [
          ['user', messages[0]?.parent_id],
          ['assistant', first.parent_id],
          ['user', messages[2]?.parent_id],
          ['assistant', second.parent_id],
        ],
      );
      t.equal(messages[0]?.message, 'Who are you?');
      t.equal(messages[2]?.message, 'And then?');
    },
  ],
  [
    'Authorization works as a bare token and as Bearer, and is required',
    async ({ t, api, credential, held }) => {
      t.equal(
        (await api('/conversations', { headers: { authorization: credential } })).status,
        200,
      );
      t.equal(
        (await api('/conversations', { headers: { authorization: `Bearer ${credential}` } }))
          .status,
        200,
      );
      const missing = await api('/conversations', { headers: { authorization: '' } });
      // The seed's message for a missing access token; an API key is asked for by name.
      await expectError(t, missing, 401, 'missing_token', {
        error: held ? /API key/ : 'access_token is required',
      });
    },
  ],
  [
    'an ask without parent_id right after another ask continues the branch from the cache',
    async ({ t, api, newConversation, upstreamSince, emulator, sendPath }) => {
      const first = await newConversation('one');
      const mark = emulator.requests.length;
      const asked = await json<{ response: Reply }>(
        await api(`/conversations/${first.conversation_id}/ask`, {
          method: 'POST',
          json: { prompt: 'two' },
        }),
      );
      t.same(
        upstreamSince(mark).map((r) => `${r.method} ${r.path}`),
        [`POST ${sendPath}`],
        'no GET of the conversation: the current node came from the cache',
      );
      const post = upstreamSince(mark)[0];
      t.equal((post?.body as { parent_message_id?: string }).parent_message_id, first.parent_id);
      const mark2 = emulator.requests.length;
      const messages = await json<Reply[]>(
        await api(`/conversations/${first.conversation_id}/messages`),
      );
      t.equal(messages.at(-1)?.parent_id, asked.response.parent_id);
      t.equal(
        upstreamSince(mark2).length,
        0,
        '/messages right after an ask costs no upstream call',
      );
    },
  ],
  [
    'an ask on a conversation not in the cache fetches it once to find the current node',
    async ({ t, api, newConversation, upstreamSince, emulator, sendPath }) => {
      const first = await newConversation('one');
      // The same principal through a second app instance, whose cache is empty.
      const mark = emulator.requests.length;
      const other = await api(`/conversations/${first.conversation_id}/ask`, {
        method: 'POST',
        json: { prompt: 'two' },
        viaPrefixed: true,
      });
      t.equal(other.status, 201);
      t.same(
        upstreamSince(mark).map((r) => `${r.method} ${r.path}`),
        [`GET /backend-api/conversation/${first.conversation_id}`, `POST ${sendPath}`],
      );
    },
  ],
  [
    'another token asking for the same conversation id gets nothing from the cache',
    async ({ t, api, newConversation, emulator, held }) => {
      const first = await newConversation('mine');
      const mark = emulator.requests.length;
      const response = await api(`/conversations/${first.conversation_id}/messages`, {
        headers: { authorization: 'someone-else' },
      });
      if (held) {
        // With held tokens another credential is simply not a key of this server.
        await expectError(t, response, 401, 'invalid_token');
        t.equal(emulator.requests.length - mark, 0, 'nothing went upstream');
        return;
      }
      await expectError(t, response, 404, 'conversation_not_found');
      t.equal(emulator.requests.length - mark, 1, 'the upstream was asked');
    },
  ],
  [
    'GET /conversations/{id}/messages lists the visible branch oldest first with ISO times',
    async ({ t, api, newConversation, emulator }) => {
      const first = await newConversation('hello');
      const mark = emulator.requests.length;
      // Through the second instance, so the list comes from the upstream tree.
      const response = await api(`/conversations/${first.conversation_id}/messages`, {
        viaPrefixed: true,
      });
      t.equal(response.status, 200);
      const messages = await json<Reply[]>(response);
      t.equal(emulator.requests.length - mark, 1);
      t.same(
        messages.map((m) => m.author.role),
        ['user', 'assistant'],
        'no hidden system message',
      );
      t.same(Object.keys(messages[1] ?? {}).sort(), [...SEED_FIELDS, 'create_time'].sort());
      t.match(messages[0], { model: null, finish_details: null, end_turn: null, message: 'hello' });
      t.match(messages[1]?.create_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
      t.equal(messages[1]?.message, first.message);
    },
  ],
  [
    'GET /conversations/{id} returns the whole tree with the thread',
    async ({ t, api, newConversation }) => {
      const first = await newConversation('tree');
      const tree = await json<{
        id: string;
        current_node: string;
        title: string;
        create_time: string;
        messages: Reply[];
        mapping: Record<string, { parent?: string | null; message?: unknown }>;
      }>(await api(`/conversations/${first.conversation_id}`));
      t.equal(tree.id, first.conversation_id);
      t.equal(tree.current_node, first.parent_id);
      t.type(tree.title, 'string');
      t.match(tree.create_time, /^\d{4}-/);
      t.equal(tree.messages.length, 2);
      t.ok(tree.mapping[first.parent_id], 'the mapping holds the reply');
      const root = Object.values(tree.mapping).find((n) => n.parent == null);
      t.ok(root, 'the mapping has a root');
    },
  ],
  [
    'PATCH /conversations/{id} renames it and the next read sees the new title',
    async ({ t, api, newConversation }) => {
      const first = await newConversation('rename me');
      await api(`/conversations/${first.conversation_id}`); // cache it
      const response = await api(`/conversations/${first.conversation_id}`, {
        method: 'PATCH',
        json: { title: 'Renamed' },
      });
      t.equal(response.status, 200);
      t.same(await json(response), { id: first.conversation_id, title: 'Renamed' });
      const tree = await json<{ title: string }>(
        await api(`/conversations/${first.conversation_id}`),
      );
      t.equal(tree.title, 'Renamed');
      await expectError(
        t,
        await api(`/conversations/${first.conversation_id}`, {
          method: 'PATCH',
          json: { title: ' ' },
        }),
        400,
        'invalid_request',
        { field: 'title' },
      );
    },
  ],
  [
    'DELETE /conversations/{id} answers 204, hides it upstream and drops it from the cache',
    async ({ t, api, newConversation, upstreamSince, emulator }) => {
      const first = await newConversation('bye');
      const mark = emulator.requests.length;
      const response = await api(`/conversations/${first.conversation_id}`, { method: 'DELETE' });
      t.equal(response.status, 204);
      t.equal(await response.text(), '');
      const patch = upstreamSince(mark)[0];
      t.equal(patch?.method, 'PATCH');
      t.same(patch?.body, { is_visible: false });
      await expectError(
        t,
        await api(`/conversations/${first.conversation_id}/messages`),
        404,
        'conversation_not_found',
      );
    },
  ],
  [
    'DELETE /conversations/all answers 204 and empties this principal only',
    async ({ t, api, newConversation, held }) => {
      const mine = await newConversation('a');
      if (held) {
        // One held token per server here: there is no other principal to keep.
        t.equal((await api('/conversations/all', { method: 'DELETE' })).status, 204);
        t.same(await json(await api('/conversations')), []);
        await expectError(
          t,
          await api(`/conversations/${mine.conversation_id}/messages`),
          404,
          'conversation_not_found',
        );
        return;
      }
      const theirs = await api('/conversations/new', {
        method: 'POST',
        json: { prompt: 'b' },
        headers: { authorization: 'another-principal-token' },
      });
      const theirsId = (await json<{ response: Reply }>(theirs)).response.conversation_id;
      t.equal((await api('/conversations/all', { method: 'DELETE' })).status, 204);
      t.same(await json(await api('/conversations')), []);
      await expectError(
        t,
        await api(`/conversations/${mine.conversation_id}/messages`),
        404,
        'conversation_not_found',
      );
      const other = await api(`/conversations/${theirsId}/messages`, {
        headers: { authorization: 'another-principal-token' },
      });
      t.equal(other.status, 200, 'the other principal keeps its conversations');
      await api('/conversations/all', {
        method: 'DELETE',
        headers: { authorization: 'another-principal-token' },
      });
    },
  ],
  [
    'POST /conversations/{id}/regenerate answers the same user message again on a new branch',
    async ({ t, api, newConversation, upstreamSince, emulator, isSend }) => {
      const first = await newConversation('regenerate this');
      const mark = emulator.requests.length;
      const response = await api(`/conversations/${first.conversation_id}/regenerate`, {
        method: 'POST',
        json: {},
      });
      t.equal(response.status, 201);
      const { response: again } = await json<{ response: Reply }>(response);
      t.not(again.parent_id, first.parent_id);
      const post = upstreamSince(mark).find(isSend);
      t.equal((post?.body as { action?: string }).action, 'variant');
      const messages = await json<Reply[]>(
        await api(`/conversations/${first.conversation_id}/messages`),
      );
      t.same(
        messages.map((m) => m.author.role),
        ['user', 'assistant'],
      );
      t.equal(messages[1]?.parent_id, again.parent_id);
      await expectError(
        t,
        await api(`/conversations/${first.conversation_id}/regenerate`, {
          method: 'POST',
          json: { parent_id: messages[0]?.parent_id },
        }),
        400,
        'invalid_request',
        { field: 'parent_id' },
      );
    },
  ],
  [
    'autocontinue joins a reply cut at max_tokens into one text; without it the reply stops there',
    async ({ t, api, emulator, isSend }) => {
      await withSettings(emulator, { maxTokens: 8 }, async () => {
        const cut = (
          await json<{ response: Reply }>(
            await api('/conversations/new', { method: 'POST', json: { prompt: 'long story' } }),
          )
        ).response;
        t.equal(cut.finish_details, 'max_tokens');
        const joined = (
          await json<{ response: Reply }>(
            await api('/conversations/new', {
              method: 'POST',
              json: { prompt: 'long story', autocontinue: true },
            }),
          )
        ).response;
        t.ok(joined.message.startsWith(cut.message), 'the joined text starts with the cut text');
        t.ok(joined.message.length > cut.message.length);
        const posts = emulator.requests.filter(isSend);
        t.ok(posts.some((r) => (r.body as { action?: string }).action === 'continue'));
      });
    },
  ],
  [
    'streaming sends delta events whose text adds up to the reply, then title, reply and done',
    async ({ t, api }) => {
      const response = await api('/conversations/new', {
        method: 'POST',
        json: { prompt: 'stream it' },
        headers: { accept: 'text/event-stream' },
      });
      t.equal(response.status, 200);
      t.match(response.headers.get('content-type'), /^text\/event-stream/);
      t.match(response.headers.get('cache-control'), /no-cache/);
      t.equal(response.headers.get('x-accel-buffering'), 'no');
      const events = await allEvents(response);
      const names = events.map((e) => e.event);
      const deltas = events.filter((e) => e.event === 'delta');
      t.ok(deltas.length > 1, 'several deltas');
      t.same(names.slice(deltas.length), ['title', 'reply', 'done']);
      const reply = events.find((e) => e.event === 'reply')?.data as Reply;
      t.equal(deltas.map((e) => (e.data as { text: string }).text).join(''), reply.message);
      t.same(events.at(-1)?.data, {});
    },
  ],
  [
    '"stream": true streams too, and autocontinue deltas flow on across the continue',
    async ({ t, api, emulator }) => {
      await withSettings(emulator, { maxTokens: 6 }, async () => {
        const first = await api('/conversations/new', {
          method: 'POST',
          json: { prompt: 'long stream', stream: true, autocontinue: 'true' },
        });
        const events = await allEvents(first);
        const reply = events.find((e) => e.event === 'reply')?.data as Reply;
        const text = events
          .filter((e) => e.event === 'delta')
          .map((e) => (e.data as { text: string }).text)
          .join('');
        t.equal(text, reply.message);
        t.equal(events.filter((e) => e.event === 'reply').length, 1, 'reply comes exactly once');
        const plain = (
          await json<{ response: Reply }>(
            await api('/conversations/new', {
              method: 'POST',
              json: { prompt: 'long stream', autocontinue: true },
            }),
          )
        ).response;
        t.equal(reply.message, plain.message, 'the JSON mode is the stream collected');
      });
    },
  ],
  [
    'the first delta arrives before the upstream finished its reply',
    async ({ t, api, emulator, isSend }) => {
      await withSettings(emulator, { pacingMs: 40 }, async () => {
        const mark = emulator.requests.length;
        const response = await api('/conversations/new', {
          method: 'POST',
          json: { prompt: 'slow', stream: true },
        });
        const events = readEvents(response);
        const first = await events.next();
        t.equal(first.value?.event, 'delta');
        const upstream = emulator.requests.slice(mark).find(isSend);
        t.equal(upstream?.closure, undefined, 'the upstream stream is still open');
        for await (const event of events) t.ok(event);
      });
    },
  ],
  [
    'a streaming client that disconnects aborts the upstream request within 100 ms',
    async ({ t, api, emulator, isSend }) => {
      // Scheduling noise on a loaded 2-core machine only ever adds delay, so the best of up to
      // three disconnects is compared with the limit; every one of them must abort the upstream.
      const delays: number[] = [];
      await withSettings(emulator, { pacingMs: 50 }, async () => {
        while (delays.length < 3 && !delays.some((ms) => ms < 100)) {
          const controller = new AbortController();
          const mark = emulator.requests.length;
          const response = await api('/conversations/new', {
            method: 'POST',
            json: { prompt: 'leave early', stream: true },
            signal: controller.signal,
          });
          const events = readEvents(response);
          await events.next();
          const upstream = emulator.requests.slice(mark).find(isSend);
          const left = Date.now();
          controller.abort();
          const closure = await upstream?.closed;
          t.equal(closure?.aborted, true, 'the emulator saw the request aborted');
          delays.push((closure?.at ?? Infinity) - left);
        }
        t.ok(
          Math.min(...delays) < 100,
          `upstream closed ${delays.join(', ')} ms after the client left`,
        );
      });
    },
  ],
  [
    'a failure after the stream started ends it with an error event and no done',
    async ({ t, api, emulator, token, sendPath }) => {
      emulator.inject({
        match: { token, path: sendPath },
        fault: { type: 'reset', afterEvents: 3 },
      });
      const events = await allEvents(
        await api('/conversations/new', { method: 'POST', json: { prompt: 'x', stream: true } }),
      );
      const last = events.at(-1);
      t.equal(last?.event, 'error');
      t.match(last?.data, { code: 'upstream_error', error: String });
      t.notOk(events.some((e) => e.event === 'done'));
    },
  ],
  [
    'a failure before the first byte of a stream is a plain HTTP error',
    async ({ t, api, emulator, token, sendPath }) => {
      emulator.inject({
        match: { token, path: sendPath },
        fault: { type: 'model_cap', clearsIn: 42 },
      });
      const response = await api('/conversations/new', {
        method: 'POST',
        json: { prompt: 'x' },
        headers: { accept: 'text/event-stream' },
      });
      await expectError(t, response, 429, 'rate_limited', { retry_after: 42 });
    },
  ],
  [
    'every upstream failure gets its own status and code',
    async ({ t, api, emulator, token, sendPath, dialect, held }) => {
      const rows: [
        Record<string, unknown>,
        number,
        string,
        { retry_after?: number; field?: string }?,
      ][] = [
        [{ type: 'token_expired' }, 401, 'token_expired'],
        [{ type: 'invalid_jwt' }, 401, 'invalid_token'],
        [{ type: 'invalid_token' }, 401, 'invalid_token'],
        [{ type: 'conversation_not_found' }, 404, 'conversation_not_found'],
        [{ type: 'model_cap', clearsIn: 11461 }, 429, 'rate_limited', { retry_after: 11461 }],
        [{ type: 'rate_limit' }, 429, 'rate_limited'],
        [{ type: 'one_at_a_time' }, 429, 'conversation_busy'],
        [{ type: 'one_at_a_time', status: 409 }, 429, 'conversation_busy'],
        [{ type: 'cloudflare' }, 502, 'upstream_blocked'],
        [{ type: 'cloudflare', status: 503 }, 502, 'upstream_blocked'],
        [{ type: 'unusual_activity' }, 502, 'upstream_blocked'],
        [{ type: 'server_error' }, 502, 'upstream_error'],
        [{ type: 'server_error', format: 'json' }, 502, 'upstream_error'],
        [{ type: 'end_without_done', afterEvents: 2 }, 502, 'upstream_error'],
        [{ type: 'stream_error' }, 502, 'upstream_error'],
        [{ type: 'moderation', blocked: true }, 502, 'upstream_error'],
        [{ type: 'unauthorized_in_stream' }, 401, 'token_expired'],
        [{ type: 'model_not_found' }, 400, 'invalid_request', { field: 'model' }],
      ];
      for (const [fault, status, code, extra] of rows) {
        // The web dialect takes a 403 on the message POST for a sentinel refusal and retries once.
        const times = dialect === 'web' && fault.type === 'unusual_activity' ? 2 : 1;
        emulator.inject({ match: { token, path: sendPath }, times, fault: fault as never });
        // Held tokens remember 401s and caps (the pool takes the token out of rotation), so
        // each row gets a fresh server there.
        const response = await api('/conversations/new', {
          method: 'POST',
          json: { prompt: 'x' },
          ...(held ? { via: await startExtra({}) } : {}),
        });
        const body = await expectError(t, response, status, code, extra);
        t.notMatch(
          JSON.stringify(body),
          /<|html|Just a moment/i,
          `${String(fault.type)}: no HTML in the body`,
        );
        if (extra?.retry_after !== undefined) {
          t.equal(
            response.headers.get('retry-after'),
            String(extra.retry_after),
            'Retry-After is set',
          );
        }
      }
    },
  ],
  [
    'a stream that survives heartbeats, pings, malformed lines, CRLF and byte-split writes still replies',
    async ({ t, api, emulator, token, sendPath }) => {
      const faults = [
        [{ type: 'heartbeat' }],
        [
          { type: 'ping', style: 'event' },
          { type: 'ping', style: 'comment' },
        ],
        [{ type: 'malformed_json' }],
        [{ type: 'line_endings', style: 'crlf' }],
        [{ type: 'line_endings', style: 'cr' }],
        [{ type: 'split_bytes' }],
      ];
      for (const fault of faults) {
        emulator.inject({ match: { token, path: sendPath }, fault: fault as never });
        const response = await api('/conversations/new', {
          method: 'POST',
          json: { prompt: 'robust' },
        });
        t.equal(response.status, 201, JSON.stringify(fault));
        const { response: reply } = await json<{ response: Reply }>(response);
        t.ok(reply.message.length > 0);
      }
    },
  ],
  [
    'ids that are not UUIDs get a 400 and never reach the upstream',
    async ({ t, api, emulator }) => {
      const mark = emulator.requests.length;
      for (const [method, path] of [
        ['GET', '/conversations/not-a-uuid/messages'],
        ['POST', '/conversations/123/ask'],
        ['DELETE', '/conversations/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'],
        ['GET', '/conversations/new/messages'],
      ] as const) {
        const response = await api(path, {
          method,
          ...(method === 'POST' ? { json: { prompt: 'x' } } : {}),
        });
        await expectError(t, response, 400, 'invalid_request', { field: 'conversation_id' });
      }
      const bad = await api(`/conversations/${UNKNOWN_ID}/ask`, {
        method: 'POST',
        json: { prompt: 'x', parent_id: 'nope' },
      });
      await expectError(t, bad, 400, 'invalid_request', { field: 'parent_id' });
      t.equal(emulator.requests.length, mark, 'nothing was sent upstream');
    },
  ],
  [
    'missing, blank or mistyped fields get a 400 naming the field',
    async ({ t, api }) => {
      await expectError(
        t,
        await api('/conversations/new', { method: 'POST', json: {} }),
        400,
        'invalid_request',
        { field: 'prompt' },
      );
      await expectError(
        t,
        await api('/conversations/new', { method: 'POST', json: { prompt: '   ' } }),
        400,
        'invalid_request',
        { field: 'prompt' },
      );
      await expectError(
        t,
        await api('/conversations/new', { method: 'POST', json: { prompt: 5 } }),
        400,
        'invalid_request',
        { field: 'prompt' },
      );
      await expectError(
        t,
        await api('/conversations/new', {
          method: 'POST',
          json: { prompt: 'x', autocontinue: 'maybe' },
        }),
        400,
        'invalid_request',
        { field: 'autocontinue' },
      );
      await expectError(
        t,
        await api('/conversations/new', { method: 'POST', form: { title: 'x' } }),
        400,
        'invalid_request',
        { field: 'prompt' },
      );
    },
  ],
  [
    'malformed JSON is a 400, another media type a 415, a body over the limit a 413',
    async ({ t, api }) => {
      const malformed = await api('/conversations/new', {
        method: 'POST',
        body: '{"prompt": ',
        headers: { 'content-type': 'application/json' },
      });
      // A framework parser in front (express.json(), @koa/bodyparser) may refuse malformed
      // JSON itself; it must still be a 400. Without one, the answer is ours.
      t.equal(malformed.status, 400);
      const ownMalformed = await api('/conversations/new', {
        method: 'POST',
        body: '{"prompt": ',
        headers: { 'content-type': 'application/json' },
        viaPrefixed: true,
      });
      await expectError(t, ownMalformed, 400, 'invalid_request');
      const plain = await api('/conversations/new', {
        method: 'POST',
        body: 'prompt',
        headers: { 'content-type': 'text/plain' },
      });
      await expectError(t, plain, 415, 'unsupported_media_type');
      const big = await api('/conversations/new', {
        method: 'POST',
        body: JSON.stringify({ prompt: 'x'.repeat(2 * 1024 * 1024) }),
        headers: { 'content-type': 'application/json' },
        viaPrefixed: true,
      });
      await expectError(t, big, 413, 'payload_too_large');
      // The OpenAI route answers in OpenAI's error shape, a host parser's refusals included.
      const huge = { messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] };
      for (const [body, status] of [
        ['{"messages": ', 400],
        [JSON.stringify(huge), 413],
      ] as const) {
        const answer = await api('/v1/chat/completions', {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
        t.equal(answer.status, status);
        const { error } = await json<{ error?: { message?: unknown; type?: unknown } }>(answer);
        t.match(error, { message: String, type: String }, `an OpenAI error for a ${status}`);
      }
    },
  ],
  [
    'known paths with another method get 405 with Allow; new and all are never ids',
    async ({ t, api }) => {
      const del = await api('/conversations/new', { method: 'DELETE' });
      await expectError(t, del, 405, 'method_not_allowed');
      t.equal(del.headers.get('allow'), 'POST');
      const all = await api('/conversations/all');
      await expectError(t, all, 405, 'method_not_allowed');
      t.equal(all.headers.get('allow'), 'DELETE');
      const put = await api(`/conversations/${UNKNOWN_ID}`, { method: 'PUT' });
      await expectError(t, put, 405, 'method_not_allowed');
      t.equal(put.headers.get('allow'), 'GET, PATCH, DELETE');
    },
  ],
  [
    'CORS: a preflight from an allowed origin is answered, one from another origin is not',
    async ({ t, emulator }) => {
      const app = await startExtra({
        upstream: emulator.url,
        cors: { origins: ['https://app.example'] },
      });
      try {
        const preflight = (origin: string, method = 'POST') =>
          fetch(`${app.url}/conversations/new`, {
            method: 'OPTIONS',
            headers: {
              origin,
              'access-control-request-method': method,
              'access-control-request-headers':
                'authorization, content-type, x-evil, x-stainless-os',
            },
          });
        const allowed = await preflight('https://app.example');
        t.equal(allowed.status, 204);
        t.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
        t.match(allowed.headers.get('access-control-allow-methods'), /POST/);
        t.equal(
          allowed.headers.get('access-control-allow-headers'),
          'authorization, content-type, x-stainless-os',
          "the openai SDK's headers pass, others do not",
        );
        t.match(allowed.headers.get('vary'), /Origin/);
        t.ok(Number(allowed.headers.get('access-control-max-age')) > 0);
        const other = await preflight('https://evil.example');
        t.equal(other.headers.get('access-control-allow-origin'), null, 'no CORS for others');
        const wrongMethod = await preflight('https://app.example', 'PUT');
        t.equal(
          wrongMethod.headers.get('access-control-allow-origin'),
          null,
          'PUT is no method here',
        );
      } finally {
        await app.close();
      }
    },
  ],
  [
    'CORS: a cross-origin call reads its reply, its stream, its errors and X-Total-Count',
    async ({ t, emulator, credential }) => {
      const app = await startExtra({ upstream: emulator.url, cors: { origins: '*' } });
      try {
        const origin = 'https://page.example';
        const headers = {
          origin,
          authorization: `Bearer ${credential}`,
          'content-type': 'application/json',
        };
        const created = await fetch(`${app.url}/conversations/new`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ prompt: 'Hello', stream: true }),
        });
        t.equal(created.status, 200);
        t.equal(created.headers.get('access-control-allow-origin'), '*');
        const events = await allEvents(created);
        t.ok(
          events.some((e) => e.event === 'reply'),
          'the stream reached the page',
        );
        const list = await fetch(`${app.url}/conversations`, { headers });
        t.equal(list.headers.get('access-control-allow-origin'), '*');
        t.match(list.headers.get('access-control-expose-headers'), /X-Total-Count/);
        await list.arrayBuffer();
        const denied = await fetch(`${app.url}/conversations`, { headers: { origin } });
        t.equal(denied.status, 401);
        t.equal(denied.headers.get('access-control-allow-origin'), '*', 'errors are readable');
        t.match(denied.headers.get('access-control-expose-headers'), /WWW-Authenticate/);
        await denied.arrayBuffer();
        // A host body parser's refusal (express.json(), koa-bodyparser) is readable too.
        const malformed = await fetch(`${app.url}/conversations/new`, {
          method: 'POST',
          headers,
          body: '{"prompt": ',
        });
        t.equal(malformed.status, 400);
        t.equal(malformed.headers.get('access-control-allow-origin'), '*', 'parser errors too');
        await malformed.arrayBuffer();
        const same = await fetch(`${app.url}/openapi.json`);
        t.equal(same.headers.get('access-control-allow-origin'), null, 'no Origin, no CORS');
        await same.arrayBuffer();
      } finally {
        await app.close();
      }
    },
  ],
  [
    'the upstream being unreachable is a 503 and an upstream that sends no headers in time a 504',
    async ({ t, emulator, token, sendPath, credential }) => {
      const unreachable = await startExtra({ upstream: 'http://127.0.0.1:9/backend-api' });
      try {
        const response = await fetch(`${unreachable.url}/conversations`, {
          headers: { authorization: credential },
        });
        await expectError(t, response, 503, 'upstream_unavailable');
      } finally {
        await unreachable.close();
      }
      const slow = await startExtra({
        upstream: emulator.url,
        timeouts: { headers: 100, idle: 150 },
      });
      try {
        emulator.inject({ match: { token }, fault: { type: 'stall_before_headers', ms: 400 } });
        const response = await fetch(`${slow.url}/conversations`, {
          headers: { authorization: credential },
        });
        await expectError(t, response, 504, 'upstream_timeout');
        emulator.inject({
          match: { token, path: sendPath },
          fault: { type: 'stall_mid_stream', afterEvents: 3, ms: 600 },
        });
        const idle = await fetch(`${slow.url}/conversations/new`, {
          method: 'POST',
          headers: { authorization: credential, 'content-type': 'application/json' },
          body: '{"prompt":"x"}',
        });
        await expectError(t, idle, 504, 'upstream_timeout');
      } finally {
        await slow.close();
      }
    },
  ],
  [
    'the routes also serve under a prefix, without the framework body parser',
    async ({ t, prefixed, credential }) => {
      const created = await fetch(`${prefixed.url}/chat/conversations/new`, {
        method: 'POST',
        headers: { authorization: credential, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'prompt=prefixed',
      });
      t.equal(created.status, 201);
      const list = await fetch(`${prefixed.url}/chat/conversations`, {
        headers: { authorization: credential },
      });
      t.equal(list.status, 200);
      const outside = await fetch(`${prefixed.url}/conversations`, {
        headers: { authorization: credential },
      });
      t.equal(outside.status, 404, 'nothing is served outside the prefix');
    },
  ],
  [
    'GET /openapi.json describes every route, without a token',
    async ({ t, api }) => {
      const response = await api('/openapi.json', { headers: { authorization: '' } });
      t.equal(response.status, 200);
      const document = await json<{
        openapi: string;
        servers: unknown[];
        paths: Record<string, Record<string, unknown>>;
      }>(response);
      t.equal(document.openapi, '3.1.0');
      t.same(Object.keys(document.paths).sort(), [
        '/conversations',
        '/conversations/all',
        '/conversations/new',
        '/conversations/{id}',
        '/conversations/{id}/ask',
        '/conversations/{id}/messages',
        '/conversations/{id}/regenerate',
        '/openapi.json',
        '/v1/chat/completions',
        '/v1/models',
        '/v1/models/{model}',
      ]);
      t.ok(document.paths['/conversations/{id}']?.patch, 'PATCH rename is described');
      t.match(document.servers, [{ url: '/', description: String }]);
      const mounted = await json<{ servers: { url: string }[] }>(
        await api('/openapi.json', { viaPrefixed: true }),
      );
      t.equal(mounted.servers[0]?.url, '/chat', 'mounted under /chat, the document says so');
      await expectError(
        t,
        await api('/openapi.json', { method: 'POST' }),
        405,
        'method_not_allowed',
      );
    },
  ],
  [
    "the app's own routes and body parser keep working beside ours",
    async ({ t, app }) => {
      const health = await fetch(`${app.url}/health`);
      t.same(await health.json(), { ok: true });
      const echo = await fetch(`${app.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      t.same(await echo.json(), { a: 1 });
      const unknown = await fetch(`${app.url}/not-ours`);
      t.equal(unknown.status, 404, 'unknown paths are left to the app');
    },
  ],
];

let startExtra: (options: ChatGptRestOptions) => Promise<Started>;

/** Names of every case, for checking that each mount ran them all. */
export const CASE_NAMES = CASES.map(([name]) => name);

/** Options of a conformance run beyond the mount. */
export interface ConformanceVariant {
  /** Appended to the run's name. */
  label?: string;
  emulator?: BackendEmulatorOptions;
  options?: ChatGptRestOptions;
  /** Run with server-held tokens: each case's server holds its token, clients send an API key. */
  held?: boolean;
}

type Dialect = 'legacy' | 'web';

/**
 * Runs every conformance case against `mount`, once per upstream dialect: `legacy`
 * (`POST /conversation`) and `web` (sentinel, proof of work, conduit, `v1` deltas).
 */
export function runConformance(mount: Mount, variant: ConformanceVariant = {}): void {
  for (const dialect of ['legacy', 'web'] as const) runDialect(mount, dialect, variant);
}

function runDialect(mount: Mount, dialect: Dialect, variant: ConformanceVariant): void {
  const label = [dialect, variant.label].filter((part) => part !== undefined).join(', ');
  const sendPath = dialect === 'web' ? '/backend-api/f/conversation' : '/backend-api/conversation';
  const held = variant.held === true;
  t.test(`conformance: ${mount.name} (${label})`, async (t) => {
    const emulator = await createBackendEmulator({ dialect, ...variant.emulator });
    const base: ChatGptRestOptions = { upstream: emulator.url, dialect, ...variant.options };
    const started: Started[] = [];
    const start = async (
      options: ChatGptRestOptions,
      prefix = '',
      bodyParser = true,
    ): Promise<Started> => {
      const app = await mount.start({ options, prefix, bodyParser });
      started.push(app);
      mountedAt.set(app.url, prefix);
      return app;
    };
    // Passthrough: one app (and one under /chat) for every case. Held tokens: each case gets
    // servers holding its own token, so that cases stay apart as they do with their own tokens.
    const shared = held
      ? undefined
      : { app: await start(base), prefixed: await start(base, '/chat', false) };
    t.teardown(async () => {
      await Promise.all(started.map((app) => app.close()));
      await emulator.close();
    });
    const ran: string[] = [];
    let index = 0;
    for (const [name, run] of CASES) {
      const token = `token-${`${mount.name}-${label}`.replace(/\W+/g, '-')}-${index++}`;
      const credential = held ? `key-${token}` : token;
      const options: ChatGptRestOptions = held
        ? {
            ...base,
            auth: { mode: 'server', tokens: [{ label: token, token }], apiKeys: [credential] },
          }
        : base;
      startExtra = (extraOptions) => start({ ...options, ...extraOptions });
      await t.test(name, async (t) => {
        checking = t;
        const { app, prefixed } = shared ?? {
          app: await start(options),
          prefixed: await start(options, '/chat', false),
        };
        const context: CaseContext = {
          t,
          emulator,
          token,
          credential,
          held,
          app,
          prefixed,
          api: (path, init = {}) => {
            const { json: jsonBody, form, viaPrefixed, via, ...rest } = init;
            const headers = new Headers(rest.headers);
            if (!headers.has('authorization')) headers.set('authorization', `Bearer ${credential}`);
            if (headers.get('authorization') === '') headers.delete('authorization');
            let body = rest.body;
            if (jsonBody !== undefined) {
              headers.set('content-type', 'application/json');
              body = JSON.stringify(jsonBody);
            } else if (form !== undefined) {
              headers.set('content-type', 'application/x-www-form-urlencoded');
              body = new URLSearchParams(form).toString();
            }
            const base = via?.url ?? (viaPrefixed === true ? `${prefixed.url}/chat` : app.url);
            return fetch(`${base}${path}`, {
              ...rest,
              headers,
              ...(body === undefined ? {} : { body }),
            });
          },
          newConversation: async (prompt = 'Hello') => {
            const response = await context.api('/conversations/new', {
              method: 'POST',
              json: { prompt },
            });
            t.equal(response.status, 201, 'conversation created');
            return (await json<{ response: Reply }>(response)).response;
          },
          // The web dialect's sentinel and prepare steps belong to a send, not calls of their own.
          upstreamSince: (since) =>
            emulator.requests
              .slice(since)
              .filter((r) => r.headers.authorization === `Bearer ${token}`)
              .filter((r) => !PRELIMINARY.test(r.path)),
          sendPath,
          dialect,
          isSend: (r) => r.method === 'POST' && r.path === sendPath,
        };
        await run(context);
        ran.push(name);
      });
    }
    t.same(ran, CASE_NAMES, 'every conformance case ran');
    t.ok(checked > 0, `${checked} answers checked against the OpenAPI document`);
  });
}
