/**
 * Client values that name `Object.prototype` members, looked up in the emulator's plain objects:
 * a model `constructor` (which the core's model check lets through) found the model map's
 * `constructor` and the turn ended without a reply; a `parent_message_id` or `message_id`
 * `constructor` found a "node" in the conversation's mapping and the request failed with a 500
 * instead of the backend's 422.
 */
import { messageBody } from '@chatgpt-rest/test-kit';
import t from 'tap';
import { createBackendEmulator } from '../src/index.js';
import { call, legacyText } from './emulator-helpers.js';

const PROTOTYPE_KEYS = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];

t.test('a model named after a prototype member is answered as itself', async (t) => {
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  for (const model of PROTOTYPE_KEYS) {
    const reply = await call(emulator.url, 'POST', '/conversation', {
      body: messageBody('hi', { model }),
    });
    t.equal(reply.status, 200, model);
    const { text, last } = legacyText(reply.text);
    t.ok(text.length > 0, `${model}: a reply`);
    t.equal(last?.message.metadata.model_slug, model, `${model}: its slug`);
  }
});

t.test('a message id named after a prototype member is no message of the tree', async (t) => {
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  const first = legacyText(
    (await call(emulator.url, 'POST', '/conversation', { body: messageBody('hi') })).text,
  );
  for (const id of PROTOTYPE_KEYS) {
    for (const action of ['next', 'variant']) {
      const reply = await call(emulator.url, 'POST', '/conversation', {
        body: messageBody('again', {
          action,
          conversation_id: first.conversationId,
          parent_message_id: id,
        }),
      });
      t.equal(reply.status, 422, `${action} under ${id}`);
    }
    const title = await call(
      emulator.url,
      'POST',
      `/conversation/gen_title/${first.conversationId}`,
      {
        body: { message_id: id },
      },
    );
    t.equal(title.status, 422, `gen_title of ${id}`);
  }
});
