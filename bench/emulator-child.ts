/**
 * The bench's upstream: one backend emulator in its own process, seeded with conversations and
 * re-configured between cases (pacing, chunking, reply length) by the orchestrator.
 */
import { randomUUID } from 'node:crypto';
import { createBackendEmulator, type StoredConversation } from '@chatgpt-rest/emulator';
import { serve } from './lib/ipc.js';
import type { Seeded } from './lib/types.js';

const emulator = await createBackendEmulator({ dialect: 'both', oneAtATime: false, seed: 7 });

// The emulator records every request for tests; a load run would keep them all. Forget them.
setInterval(() => {
  emulator.requests.length = 0;
}, 500).unref();

/** One turn through HTTP: a new conversation, or a reply under `parentId` of an existing one. */
async function sendTurn(token: string, prompt: string, into?: Seeded): Promise<Seeded> {
  const response = await fetch(`${emulator.url}/conversation`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      action: 'next',
      model: 'auto',
      ...(into === undefined ? {} : { conversation_id: into.conversationId }),
      parent_message_id: into?.parentId ?? randomUUID(),
      messages: [
        {
          id: randomUUID(),
          author: { role: 'user' },
          content: { content_type: 'text', parts: [prompt] },
        },
      ],
    }),
  });
  const text = await response.text();
  const conversationId = /"conversation_id": "([^"]+)"/.exec(text)?.[1];
  if (conversationId === undefined) throw new Error(`seeding failed: ${text.slice(0, 200)}`);
  const stored = emulator.conversations.get(token, conversationId);
  if (stored === undefined) throw new Error('seeded conversation not found in the store');
  return { token, conversationId, parentId: stored.currentNode };
}

/** A conversation of `turns` turns (two nodes each), built through HTTP as a client would. */
async function longConversation(token: string, turns: number): Promise<Seeded> {
  let seeded = await sendTurn(token, 'Turn 0.');
  for (let turn = 1; turn < turns; turn++) seeded = await sendTurn(token, `Turn ${turn}.`, seeded);
  return seeded;
}

/** The seeded conversations as `checkpoint` found them, by owner and id. */
const checkpoint = new Map<string, StoredConversation>();
const keyOf = (owner: string, id: string): string => `${owner} ${id}`;

/** A deep copy of a tree, without a prototype as the store keeps it (structuredClone adds one). */
function copyMapping(mapping: StoredConversation['mapping']): StoredConversation['mapping'] {
  return Object.assign(Object.create(null) as typeof mapping, structuredClone(mapping));
}

/** A copy of a stored conversation that shares nothing mutable with it. */
function copyOf(conversation: StoredConversation): StoredConversation {
  const { plans, mapping, ...fields } = conversation;
  return {
    ...structuredClone(fields),
    mapping: copyMapping(mapping),
    plans: new Map([...plans].map(([id, plan]) => [id, { ...plan }])),
  };
}

serve({
  url: () => emulator.url,
  /** Remembers every conversation as it is now: what `rewind` goes back to. */
  checkpoint: () => {
    checkpoint.clear();
    for (const [owner, conversation] of emulator.conversations.entries()) {
      checkpoint.set(keyOf(owner, conversation.id), copyOf(conversation));
    }
    return checkpoint.size;
  },
  /**
   * Back to the checkpoint: the conversations made since are forgotten (each completion makes one,
   * ~100,000 a run) and the turns added since are dropped, so the emulator's heap, and with it its
   * GC pauses, stays the same size from the first target to the last.
   */
  rewind: () => {
    const removed = emulator.conversations.retain((owner, conversation) => {
      const saved = checkpoint.get(keyOf(owner, conversation.id));
      if (saved !== undefined) Object.assign(conversation, copyOf(saved));
      return saved !== undefined;
    });
    globalThis.gc?.();
    return { removed, heapMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) };
  },
  /**
   * `rich`: tokens that get `conversations` real conversations each (one turn each, through HTTP);
   * `bare`: tokens that get one empty conversation each, created in the store (streams need many).
   */
  seed: async ({
    rich,
    conversations,
    bare,
  }: {
    rich: string[];
    conversations: number;
    bare: string[];
  }) => {
    const seeded: Seeded[] = [];
    for (const token of rich) {
      for (let n = 0; n < conversations; n++) {
        seeded.push(await sendTurn(token, `Tell me about topic number ${n}.`));
      }
    }
    for (const token of bare) {
      const stored = emulator.conversations.create(token, 'auto');
      seeded.push({ token, conversationId: stored.id, parentId: stored.currentNode });
    }
    return seeded;
  },
  /**
   * One long conversation per token, `turns` turns each: the first built through HTTP, the others
   * copies of its tree under their own token and id (500 turns through HTTP take seconds each).
   */
  long: async ({ tokens, turns }: { tokens: string[]; turns: number }) => {
    const [first, ...others] = tokens;
    if (first === undefined) return [];
    const template = await longConversation(first, turns);
    const source = emulator.conversations.get(first, template.conversationId);
    if (source === undefined) throw new Error('long conversation not found in the store');
    return [
      template,
      ...others.map((token): Seeded => {
        const copy = emulator.conversations.create(token, 'auto');
        Object.assign(copy, {
          title: source.title,
          mapping: copyMapping(source.mapping),
          currentNode: source.currentNode,
          rootId: source.rootId,
          systemId: source.systemId,
        });
        return { token, conversationId: copy.id, parentId: copy.currentNode };
      }),
    ];
  },
  settings: ({
    pacingMs,
    chunk,
    replyWords,
    replyChars,
  }: {
    pacingMs: number;
    chunk: { by: 'token' | 'char'; size: number };
    replyWords: number;
    replyChars?: number;
  }) => {
    emulator.settings.pacingMs = pacingMs;
    emulator.settings.chunking = chunk;
    emulator.settings.replyWords = replyWords;
    emulator.settings.reply = replyChars === undefined ? undefined : () => longText(replyChars);
  },
});

/** Plain prose of exactly `chars` ASCII characters. */
function longText(chars: number): string {
  const words = ['streaming', 'replies', 'grow', 'one', 'token', 'at', 'a', 'time', 'and', 'the'];
  let text = '';
  for (let i = 0; text.length < chars; i++) text += `${words[i % words.length] ?? 'x'} `;
  return text.slice(0, chars);
}
