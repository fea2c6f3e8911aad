import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const app = await createApp();
await app.listen({ port, host: '127.0.0.1' });
console.log(`fastify example on http://127.0.0.1:${port} (ChatGPT routes under /chat)`);
