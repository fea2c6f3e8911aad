/**
 * The bench's upstream: one backend emulator in its own process, seeded with conversations and
 * re-configured between cases (pacing, chunking, reply length) by the orchestrator.
 */
import { randomUUID } from 'node:crypto';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { serve } from './lib/ipc.js';
import type { Seeded } from './lib/types.js';

const emulator = await createBackendEmulator({ dialect: 'both', oneAtATime: false, seed: 7 });

// The emulator records every request for tests; a load run would keep them all. Forget them.
setInterval(() => {
  emulator.requests.length = 0;
}, 500).unref();

async function sendFirstTurn(token: string, prompt: string): Promise<Seeded> {
  const response = await fetch(`${emulator.url}/conversation`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      action: 'next',
      model: 'auto',
      parent_message_id: randomUUID(),
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

serve({
  url: () => emulator.url,
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
        seeded.push(await sendFirstTurn(token, `Tell me about topic number ${n}.`));
      }
    }
    for (const token of bare) {
      const stored = emulator.conversations.create(token, 'auto');
      seeded.push({ token, conversationId: stored.id, parentId: stored.currentNode });
    }
    return seeded;
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
