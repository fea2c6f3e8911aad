/**
 * `npm run bench:redis-memory -- [conversations]`: what the Redis store costs Redis, measured on a
 * real redis-server (started on a free port, no persistence, as the tests start it): keys per
 * conversation and `used_memory` (INFO memory) per 10,000 conversations, for conversations of 1,
 * 5 and 20 turns, written through the store's own API as the core writes them: the tree set once
 * (a new conversation), each further turn appended (`addMessages`), the conversation→token map
 * remembered; and the conversation→token map alone (what stays after the cache TTL). Trees are copies of a captured chatgpt.com conversation (test/fixtures/upstream).
 * Prints a Markdown table for docs/deployment.md.
 */
import { Redis } from 'ioredis';
import type { BackendConversation, BackendMessage } from '@chatgpt-rest/core';
import { createRedisStore } from '@chatgpt-rest/redis-store';
import { REDIS_MISSING, fixtureJson, startRedisServer } from '@chatgpt-rest/test-kit';

const COUNT = Number(process.argv[2] ?? 10_000);
const TURNS = [1, 5, 20];
/** Conversations per principal (an access token's hash, or a held token's label). */
const PER_PRINCIPAL = 10;
/** Conversations written at once. */
const PARALLEL = 64;
/** The core's default cache bounds, but with room for every conversation of the run. */
const BOUNDS = { max: 1_000_000, maxSize: 1e12, ttl: 10 * 60_000 };

const capture = fixtureJson(
  'conversation-2023-12-detail-new-chat-one-turn.json',
) as BackendConversation;
const nodes = Object.values(capture.mapping);
function messageOf(role: string): BackendMessage {
  const found = nodes.find((n) => n.message?.author.role === role)?.message;
  if (found == null) throw new Error(`no ${role} message in the capture`);
  return found;
}
const userMessage = messageOf('user');
const assistantMessage = messageOf('assistant');

let ids = 0;
const newId = (): string => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;

/** A copy of the captured conversation (system, user and assistant messages) under new ids. */
function firstTurn(id: string): { tree: BackendConversation; last: string } {
  const json = JSON.stringify(capture);
  let tree = json;
  for (const node of nodes) tree = tree.replaceAll(node.id, newId());
  const conversation = JSON.parse(tree) as BackendConversation;
  conversation.conversation_id = id;
  return { tree: conversation, last: conversation.current_node };
}

function message(template: BackendMessage): BackendMessage {
  return { ...template, id: newId() };
}

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function measure(url: string, turns: number): Promise<string[]> {
  const raw = new Redis(url);
  await raw.flushall();
  const before = await usedMemory(raw);
  const store = createRedisStore({ url, prefix: 'chatgpt-rest:' });
  await store.ready();
  const cache = store.conversations(BOUNDS);
  const started = Date.now();
  let treeBytes = 0;
  for (let at = 0; at < COUNT; at += PARALLEL) {
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, COUNT - at) }, async (_, i) => {
        const n = at + i;
        const id = newId();
        const principal = `principal-${Math.floor(n / PER_PRINCIPAL)}`;
        const { tree, last } = firstTurn(id);
        await cache.set(principal, id, { conversation: tree, complete: true });
        await store.tokens.remember(id, `account-${n % 4}`);
        let parent = last;
        for (let turn = 1; turn < turns; turn++) {
          const user = message(userMessage);
          const assistant = message(assistantMessage);
          await cache.addMessages(principal, id, [
            { message: user, parentId: parent },
            { message: assistant, parentId: user.id },
          ]);
          parent = assistant.id;
        }
        if (n === 0)
          treeBytes = JSON.stringify((await cache.get(principal, id))?.conversation).length;
      }),
    );
  }
  const seconds = (Date.now() - started) / 1000;
  const keys = await raw.dbsize();
  const used = (await usedMemory(raw)) - before;
  await store.close();
  await raw.quit();
  const perConversation = used / COUNT;
  return [
    String(turns),
    `${(treeBytes / 1024).toFixed(1)} KiB`,
    (keys / COUNT).toFixed(2),
    `${(perConversation / 1024).toFixed(1)} KiB`,
    `${((perConversation * 10_000) / 1024 ** 2).toFixed(1)} MiB`,
    (COUNT / seconds).toFixed(0),
  ];
}

/** What stays once the cache TTL ran out: the conversation→token map (7 days by default). */
async function measureSticky(url: string): Promise<string[]> {
  const raw = new Redis(url);
  await raw.flushall();
  const before = await usedMemory(raw);
  const store = createRedisStore({ url, prefix: 'chatgpt-rest:' });
  await store.ready();
  const started = Date.now();
  for (let at = 0; at < COUNT; at += PARALLEL) {
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, COUNT - at) }, (_, i) =>
        store.tokens.remember(newId(), `account-${(at + i) % 4}`),
      ),
    );
  }
  const seconds = (Date.now() - started) / 1000;
  const keys = await raw.dbsize();
  const used = (await usedMemory(raw)) - before;
  await store.close();
  await raw.quit();
  return [
    'map only',
    '—',
    (keys / COUNT).toFixed(2),
    `${(used / COUNT).toFixed(0)} B`,
    `${(((used / COUNT) * 10_000) / 1024 ** 2).toFixed(1)} MiB`,
    (COUNT / seconds).toFixed(0),
  ];
}

const redis = await startRedisServer();
if (redis === undefined) {
  process.stderr.write(`${REDIS_MISSING}\n`);
  process.exit(1);
}
try {
  const rows: string[][] = [];
  for (const turns of TURNS) rows.push(await measure(redis.url, turns));
  rows.push(await measureSticky(redis.url));
  const header = [
    'turns',
    'tree JSON',
    'keys / conversation',
    'used_memory / conversation',
    'per 10,000 conversations',
    'conversations written / s',
  ];
  const lines = [
    `${COUNT} conversations per row, ${PER_PRINCIPAL} per principal; redis-server, INFO memory used_memory after − before`,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---:').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await redis.stop();
}
