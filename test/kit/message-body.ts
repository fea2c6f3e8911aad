import { randomUUID } from 'node:crypto';

/**
 * The body of a backend message POST (`action: 'next'`, one user message), as a client of
 * `/backend-api/conversation` sends it (docs/spec/backend-protocol.md §4). `extra` adds or
 * replaces fields: `parent_message_id` (a fresh id by default), `conversation_id`,
 * `supported_encodings: ['v1']`, another `action`…
 */
export function messageBody(
  prompt: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    action: 'next',
    messages: [
      {
        id: randomUUID(),
        author: { role: 'user' },
        content: { content_type: 'text', parts: [prompt] },
        metadata: {},
      },
    ],
    parent_message_id: randomUUID(),
    model: 'auto',
    ...extra,
  };
}
