/** Expected readings of the upstream captures, shared by the stream-captures*.test.ts files. */
import { createHash } from 'node:crypto';
import { readReply, type ReplyCompleteEvent, type ReplyEvent } from '../src/stream/reply-reader.js';
import { drain } from './stream-helpers.js';

/**
 * What each capture must read as. The numbers were derived from the capture files by a separate,
 * naive Python script (each `data:` line parsed on its own, appends to parts/0 of visible
 * assistant messages concatenated, legacy snapshots taken whole), not by the reader under test.
 */
export interface Expected {
  file: string;
  length: number;
  sha256: string;
  start: string;
  end: string;
  titles: string[];
  conversationId: string;
  messageId: string;
}

/** Captures that end with [DONE] after a finished reply. */
export const COMPLETE: Expected[] = [
  {
    file: 'v1-2026-01-famous-people-10-a.sse',
    length: 915,
    sha256: 'f5dd82f680e69c308ba86ebe1ef9ec1b71a2b2805c8a6301fe6895b325f079e2',
    start: 'Here’s a list of 10 famous peo',
    end: 'rested in learning more about?',
    titles: ['Famous People List Request', 'Famous People List'],
    conversationId: '6974e0a3-b684-8321-a73a-bf4e7b6dfafe',
    messageId: '0fe98393-5d68-4e41-9fb6-75b50f27c79e',
  },
  {
    file: 'v1-2026-01-famous-people-10-b.sse',
    length: 898,
    sha256: '69404d0a066d89c606284e857cade03e770e4f21410e26a3c33ed2b94fcbae6d',
    start: "Sure! Here's a list of 10 famo",
    end: 'ore details about any of them!',
    titles: ['Famous People List Request', 'Famous People List'],
    conversationId: '6974e14b-7434-8324-b4c3-6b3e64d1da87',
    messageId: '8dde1460-da6b-4666-b176-d8d6d77a16aa',
  },
  {
    file: 'v1-2026-01-famous-people-20.sse',
    length: 1535,
    sha256: '2c4b2164246c8f997c5355b73bbc3c250b71b90d9bd10196f47fb5d741c55dd2',
    start: 'Here’s a list of 20 famous peo',
    end: 'any of these stand out to you?',
    titles: ['Famous People List Request', 'Famous People List'],
    conversationId: '69746530-f660-8320-b0e2-d72cf1713eac',
    messageId: '1ac371aa-db18-4f31-b125-dc5dd071f01b',
  },
  {
    file: 'v1-2026-03-hi-team-plan-system-messages.sse',
    length: 31,
    sha256: 'feb654b22b9311c6ea7c9177a6ed159ec2ea273e8d6dbd3f399e31a5d3e82875',
    start: 'Hi. What do you need help with',
    end: 'i. What do you need help with?',
    titles: ['Greetings and Assistance'],
    conversationId: '69bff40c-1c94-8324-9056-51af4100b84a',
    messageId: '5e7e31cd-620d-4fa0-a1fd-f4bb7687ee41',
  },
  {
    file: 'v1-2026-04-image-gen-async-polish.sse',
    length: 0,
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    start: '',
    end: '',
    titles: ['Text Change Request'],
    conversationId: '69eb5a4b-282c-83ea-b4f6-91ba9510bc9f',
    messageId: 'd05cfa78-a8cc-4476-9c00-ef537588d275',
  },
  {
    file: 'v1-2025-03-gpt-4o-ping-comment.sse',
    length: 1467,
    sha256: '3fcf80a378214cc654ca56e81f04b2d6c959635e10e0cbb22fc6bdbe3dbd08f5',
    start: 'This statement presents a **cr',
    end: 'ators, consumers, and society.',
    titles: [],
    conversationId: '67c9ad29-a9b0-800d-861a-3bc3ca283e62',
    messageId: '011073a6-8057-4f6a-bb95-2f664bced7c8',
  },
  {
    file: 'v1-2024-10-gpt-4o-chinese-bash-script.sse',
    length: 553,
    sha256: '3f55dfc0e908b9f5a447ea3258bd4ff691223e31f703654d7802ce99aef8f0f6',
    start: '好的，我明白你的要求。为了获取你的环境信息，我会编写以下代码',
    end: '将结果返回给我。我会根据结果进行进一步分析并提出后续的建议。',
    titles: [],
    conversationId: '670fce41-4328-800b-8b72-f52b274345f0',
    messageId: '2fbb6a89-5387-4146-9471-10f792d0e284',
  },
];

/** Partial captures that still end with [DONE]: their text is the last snapshot. */
export const PARTIAL_WITH_DONE: Expected[] = [
  {
    file: 'legacy-2023-02-single-event-911-partial.sse',
    length: 204,
    sha256: '90c56ade9bf2a7a1241ea545249240ee81cc18ccda7d0e2257fea8a41cd241c2',
    start: 'The term "911" is commonly ass',
    end: 'ch as police, fire, or medical',
    titles: [],
    conversationId: '45e1a523-c85a-4d11-96c5-b91e38f0ee83',
    messageId: 'd4cb6686-6ef7-46da-87d7-df16abbec928',
  },
  {
    file: 'legacy-2024-10-gpt-4o-mini-chinese-truncated-partial.sse',
    length: 72,
    sha256: '2af22889b608c57a61848f1dda96af5c713f133a58a64404de2203d3f8949e24',
    start: '明白了！我们可以从获取你的环境信息开始，以便更好地适应你的系',
    end: 'ython代码来获取操作系统信息和Python环境信息。\n\n',
    titles: [],
    conversationId: '670e921b-cbb0-8002-9abc-a1ba20e84d4a',
    messageId: '297f4e1b-5198-474b-9db0-436871c69791',
  },
];

/** What one read of a capture produced. */
export interface Outcome {
  text: string;
  deltas: string;
  titles: string[];
  complete: ReplyCompleteEvent;
  events: ReplyEvent[];
}

/** Reads a body to its end and sums up what a client would see. */
export async function read(source: AsyncIterable<Uint8Array>): Promise<Outcome> {
  const events = await drain(readReply(source));
  const complete = events.at(-1);
  if (complete?.type !== 'complete') throw new Error('no complete event');
  return {
    text: complete.text,
    deltas: events.map((e) => (e.type === 'delta' ? e.text : '')).join(''),
    titles: events.flatMap((e) => (e.type === 'title' ? [e.title] : [])),
    complete,
    events,
  };
}

/** The hex SHA-256 of a text. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
