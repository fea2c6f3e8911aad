import bodyParser from '@koa/bodyparser';
import Koa from 'koa';
import { chatGptRoutes, type ChatGptRestOptions } from '@chatgpt-rest/koa';

/** An ordinary Koa app: a body parser and its own routes, plus the ChatGPT routes under /chat. */
export function createApp(options: ChatGptRestOptions = {}): Koa {
  const app = new Koa();
  app.use(bodyParser());
  app.use(async (ctx, next) => {
    if (ctx.path === '/health') {
      ctx.body = { ok: true };
    } else if (ctx.path === '/notes' && ctx.method === 'POST') {
      ctx.status = 201;
      ctx.body = { saved: (ctx.request as { body?: unknown }).body };
    } else {
      await next();
    }
  });
  app.use(chatGptRoutes({ ...options, prefix: '/chat' }));
  return app;
}
