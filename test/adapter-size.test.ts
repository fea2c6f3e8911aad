import { readFileSync } from 'node:fs';
import t from 'tap';

// The mounts hold no logic of their own: all behaviour is in the core. Keeping each one small
// is how that stays true.
for (const name of ['express', 'fastify', 'koa']) {
  t.test(`the ${name} adapter is under 60 lines of code`, (t) => {
    const source = readFileSync(
      new URL(`../packages/${name}/src/index.ts`, import.meta.url),
      'utf8',
    );
    const code = source
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .split('\n')
      .map((line) => line.replace(/\/\/.*$/, '').trim())
      .filter((line) => line !== '');
    t.ok(code.length < 60, `${code.length} lines`);
    t.notMatch(
      source,
      /backend-api|conversation_id|parent_message_id/,
      'no ChatGPT protocol in the adapter',
    );
    t.end();
  });
}
