import t from 'tap';
import type { BackendMessage } from '../src/backend/types.js';
import { toReply } from '../src/conversation/reply.js';

t.test('toReply: fields of the wrong type from a stream are their empty value', (t) => {
  const odd = {
    id: 'm1',
    author: { role: 'assistant', name: { x: 1 }, metadata: [1, 2] },
    content: { content_type: 'text', parts: ['hi'] },
    metadata: { model_slug: { evil: true }, finish_details: 'stop', citations: 'none' },
    end_turn: 'yes',
    recipient: 42,
  } as unknown as BackendMessage;
  t.same(toReply(odd, 'c1'), {
    author: { role: 'assistant', name: null, metadata: {} },
    message: 'hi',
    conversation_id: 'c1',
    parent_id: 'm1',
    model: null,
    finish_details: null,
    end_turn: null,
    recipient: 'all',
    citations: [],
  });
  t.end();
});

t.test('toReply: fields of the right type are kept', (t) => {
  const message = {
    id: 'm2',
    author: { role: 'assistant', name: 'bot', metadata: { a: 1 } },
    content: { content_type: 'text', parts: ['ok'] },
    metadata: { model_slug: 'gpt-x', finish_details: { type: 'stop' }, citations: [{ n: 1 }] },
    end_turn: true,
    recipient: 'all',
  } as unknown as BackendMessage;
  t.match(toReply(message, 'c2'), {
    author: { name: 'bot', metadata: { a: 1 } },
    model: 'gpt-x',
    finish_details: 'stop',
    end_turn: true,
    citations: [{ n: 1 }],
  });
  t.end();
});
