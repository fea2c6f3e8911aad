import Fastify, { type FastifyInstance } from 'fastify';
import { chatGptRoutes, type ChatGptRestOptions } from '@chatgpt-rest/fastify';

/** An ordinary Fastify app: its own JSON routes, plus the ChatGPT routes under /chat. */
export async function createApp(options: ChatGptRestOptions = {}): Promise<FastifyInstance> {
  const app = Fastify();
  app.get('/health', () => ({ ok: true }));
  app.post('/notes', async (request, reply) => reply.code(201).send({ saved: request.body }));
  await app.register(chatGptRoutes, { ...options, prefix: '/chat' });
  return app;
}
